from django.contrib import admin

from policies.models import Site


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "key",
        "origin_count",
        "write_mode_enabled",
        "submit_restricted",
        "created",
    )
    list_filter = ("write_mode_enabled", "submit_restricted")
    search_fields = ("name", "key", "allowed_origins")
    readonly_fields = ("key", "embed_tag", "created")

    @admin.display(description="Origins")
    def origin_count(self, site: Site) -> int:
        return len(site.origins)

    @admin.display(description="Embed tag")
    def embed_tag(self, site: Site) -> str:
        if not site.pk:
            return "Save the site to get its embed tag."
        return (
            f'<script src="https://YOUR-COBROWSE-HOST/static/cobrowse/widget.js" '
            f'data-site="{site.key}" async></script>'
        )
