from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from policies.models import MaskingRule, PolicyVersion, PrivacyAlert, RestrictionRule, Site
from policies.preview import preview_html


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "key",
        "origin_count",
        "write_mode_enabled",
        "submit_restricted",
        "mask_reveals_length",
        "kept_params_shown",
        "retention_shown",
        "preview_link",
        "created",
    )
    list_filter = ("write_mode_enabled", "submit_restricted", "mask_reveals_length")
    search_fields = ("name", "key", "allowed_origins")
    readonly_fields = ("key", "embed_tag", "created")

    @admin.display(description=_("Origins"))
    def origin_count(self, site: Site) -> int:
        return len(site.origins)

    @admin.display(description=_("Kept query parameters"))
    def kept_params_shown(self, site: Site) -> str:
        return ", ".join(site.kept_params) or gettext("none")

    @admin.display(description=_("Kept (days): sessions, chats, alerts"))
    def retention_shown(self, site: Site) -> str:
        days = (site.session_retention_days, site.chat_retention_days, site.alert_retention_days)
        return " / ".join(gettext("forever") if d is None else str(d) for d in days)

    @admin.display(description=_("Embed tag"))
    def embed_tag(self, site: Site) -> str:
        if not site.pk:
            return gettext("Save the site to get its embed tag.")
        return (
            f'<script src="https://YOUR-COBROWSE-HOST/static/cobrowse/widget.js" '
            f'data-site="{site.key}" async></script>'
        )

    @admin.display(description=_("Policy"))
    def preview_link(self, site: Site) -> str:
        return format_html('<a href="{}/preview/">{}</a>', site.pk, gettext("Preview and lint"))

    def get_urls(self):
        own = [
            path(
                "<int:site_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="policies_site_preview",
            )
        ]
        return own + super().get_urls()

    def preview_view(self, request, site_id: int):
        """Paste a page's HTML (or pick a demo page) and see it as the agent would."""
        site = Site.objects.get(pk=site_id)
        source = request.POST.get("html", "") if request.method == "POST" else ""
        demo_page = request.POST.get("demo_page", "")
        url = request.POST.get("url", "") or (site.origins[0] + "/" if site.origins else "")
        result = None
        if demo_page:
            from policies.preview import render_demo_page

            source, url = render_demo_page(request, demo_page, site)
        if source:
            result = preview_html(site, source, url)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Policy preview: %(site)s") % {"site": site.name},
            "site": site,
            "opts": self.model._meta,
            "source": source,
            "url": url,
            "result": result,
            "demo_pages": ["/demo/checkout/", "/demo/account/", "/demo/privacy/", "/demo/"],
            "demo_page": demo_page,
            "policy_version": PolicyVersion.current(),
        }
        return TemplateResponse(request, "admin/policies/site/preview.html", context)


class RuleAdmin(admin.ModelAdmin):
    list_display = (
        "selector",
        "kind",
        "site_name",
        "url_pattern",
        "enabled",
        "description",
        "updated",
    )
    list_filter = ("kind", "enabled", "site")
    list_select_related = ("site",)
    search_fields = ("selector", "description", "url_pattern")
    list_editable = ("enabled",)

    @admin.display(description=_("Site"), ordering="site__name")
    def site_name(self, rule) -> str:
        return rule.site.name if rule.site else gettext("All sites")


admin.site.register(MaskingRule, RuleAdmin)
admin.site.register(RestrictionRule, RuleAdmin)


@admin.register(PrivacyAlert)
class PrivacyAlertAdmin(admin.ModelAdmin):
    list_display = ("created", "site", "session", "kind", "node_id", "selector", "url")
    list_filter = ("kind", "site")
    list_select_related = ("site", "session")
    search_fields = ("selector", "url", "session__code")
    readonly_fields = [f.name for f in PrivacyAlert._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
