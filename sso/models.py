from django.conf import settings
from django.db import models


class Identity(models.Model):
    """A user's account at the OpenID Connect provider. Sign-ins find the user by issuer and
    `sub` (stable and never reassigned, unlike a username or an e-mail address)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255, help_text="The provider's `sub` claim.")
    created = models.DateTimeField(auto_now_add=True)
    last_sign_in = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "single sign-on identity"
        verbose_name_plural = "single sign-on identities"
        constraints = [
            # Serves the lookup at every sign-in (issuer and subject), and keeps a provider
            # account from signing in as two users.
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
