from django.contrib import admin

from sso.models import Identity


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    """Who signs in as whom. Add one to let an existing (password) user sign in by single sign-on:
    the provider's issuer and the user's `sub` there."""

    list_display = ("user", "subject", "issuer", "created", "last_sign_in")
    list_select_related = ("user",)
    list_filter = ("issuer",)
    search_fields = ("user__username", "subject")
    raw_id_fields = ("user",)
    readonly_fields = ("created", "last_sign_in")
