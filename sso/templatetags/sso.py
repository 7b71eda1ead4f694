from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def sso_enabled() -> bool:
    """Whether the login page offers single sign-on: `{% sso_enabled as sso_on %}`."""
    return bool(getattr(settings, "OIDC_ENABLED", False))
