import json

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils.html import format_html

from webhooks import events, services
from webhooks.models import Attempt, Delivery, Endpoint


class EndpointForm(forms.ModelForm):
    url = forms.URLField(
        label="URL",
        max_length=2000,
        assume_scheme="https",
        help_text="Receives a POST with a JSON body for each event.",
    )
    events = forms.MultipleChoiceField(
        choices=events.CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=events.NAMES,  # a new endpoint takes every event unless unticked
        required=False,
        help_text="The events this URL receives. None: it receives only test events.",
    )

    class Meta:
        model = Endpoint
        fields = ("site", "url", "description", "events", "active")

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if not url.startswith(("https://", "http://")):
            raise forms.ValidationError("Give an http:// or https:// URL.")
        return url


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = (
        "__str__",
        "url",
        "site_shown",
        "active",
        "event_count",
        "pending_count",
        "created",
    )
    list_filter = ("active", "site")
    list_select_related = ("site",)
    ordering = ("site__name", "url")
    search_fields = ("url", "description", "site__name")
    readonly_fields = ("signing_secret", "deliveries_link", "created")
    actions = ["send_test_event", "rotate_secret"]

    @admin.display(description="Site", ordering="site__name")
    def site_shown(self, endpoint: Endpoint) -> str:
        return endpoint.site.name if endpoint.site else "Every site"

    @admin.display(description="Events")
    def event_count(self, endpoint: Endpoint) -> str:
        return f"{len(endpoint.events or [])} of {len(events.NAMES)}"

    def get_queryset(self, request):
        pending = Count("deliveries", filter=Q(deliveries__status=Delivery.Status.PENDING))
        return super().get_queryset(request).annotate(pending=pending)

    @admin.display(description="Pending", ordering="pending")
    def pending_count(self, endpoint: Endpoint) -> int:
        return endpoint.pending  # type: ignore[attr-defined]

    @admin.display(description="Signing secret")
    def signing_secret(self, endpoint: Endpoint) -> str:
        if not endpoint.pk:
            return "Made when you save; shown once, then."
        return (
            "Hidden: it was shown once, when it was made. The action "
            '"Rotate the signing secret" makes a new one.'
        )

    @admin.display(description="Deliveries")
    def deliveries_link(self, endpoint: Endpoint) -> str:
        if not endpoint.pk:
            return "-"
        link = reverse("admin:webhooks_delivery_changelist") + f"?endpoint__id__exact={endpoint.pk}"
        return format_html('<a href="{}">{} deliveries</a>', link, endpoint.deliveries.count())

    def save_model(self, request, obj: Endpoint, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            self._show_secret(request, obj)

    def _show_secret(self, request, endpoint: Endpoint) -> None:
        self.message_user(
            request,
            format_html(
                "Signing secret of {}: <code>{}</code>. Copy it into your receiver now: it is "
                "not shown again.",
                endpoint,
                endpoint.secret,
            ),
            messages.WARNING,
        )

    @admin.action(description="Send a test event", permissions=["change"])
    def send_test_event(self, request, queryset) -> None:
        queued = [services.webhooks_send_test(endpoint=endpoint) for endpoint in queryset]
        # Sent right away, so that the answer shows here; a failure is retried by the worker.
        outcomes = services.deliver_due(only=[delivery.pk for delivery in queued])
        for outcome in outcomes:
            attempt = outcome.attempt
            if attempt.succeeded:
                self.message_user(
                    request,
                    f"{outcome.delivery.endpoint}: delivered (HTTP {attempt.status_code} in "
                    f"{attempt.duration_ms} ms).",
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request,
                    f"{outcome.delivery.endpoint}: not delivered ({attempt.error}); the worker "
                    "retries it.",
                    messages.ERROR,
                )
        if len(outcomes) < len(queued):
            self.message_user(
                request, "Some test events were queued for the worker.", messages.INFO
            )

    @admin.action(description="Rotate the signing secret", permissions=["change"])
    def rotate_secret(self, request, queryset) -> None:
        for endpoint in queryset:
            endpoint.rotate_secret()
            self._show_secret(request, endpoint)


class AttemptInline(admin.TabularInline):
    model = Attempt
    fields = ("number", "started", "duration_ms", "status_code", "error", "response")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("number",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "created",
        "event",
        "endpoint",
        "session_code",
        "status",
        "attempts",
        "next_attempt_shown",
        "last_result",
    )
    list_filter = ("status", "event", "endpoint")
    list_select_related = ("endpoint", "endpoint__site")
    search_fields = ("session_code", "event")
    date_hierarchy = "created"
    fields = (
        "id",
        "endpoint",
        "event",
        "session_code",
        "status",
        "created",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "payload",
    )
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["resend"]

    def has_add_permission(self, request) -> bool:
        return False  # deliveries come from events

    def has_change_permission(self, request, obj=None) -> bool:
        # The list's Resend action needs it; a delivery itself is never edited.
        return obj is None and super().has_change_permission(request)

    @admin.display(description="Next attempt", ordering="next_attempt_at")
    def next_attempt_shown(self, delivery: Delivery):
        return delivery.next_attempt_at if delivery.status == Delivery.Status.PENDING else "-"

    def get_queryset(self, request):
        last = Attempt.objects.filter(delivery=OuterRef("pk")).order_by("-number")
        return (
            super()
            .get_queryset(request)
            .annotate(
                last_status=Subquery(last.values("status_code")[:1]),
                last_error=Subquery(last.values("error")[:1]),
            )
        )

    @admin.display(description="Last result")
    def last_result(self, delivery: Delivery) -> str:
        status, error = delivery.last_status, delivery.last_error  # type: ignore[attr-defined]
        return str(status or error or "-")

    @admin.display(description="Payload")
    def payload(self, delivery: Delivery) -> str:
        try:
            shown = json.dumps(json.loads(delivery.body), indent=2)
        except ValueError:
            shown = delivery.body
        return format_html("<pre>{}</pre>", shown)

    @admin.action(description="Resend (queue a fresh attempt now)", permissions=["change"])
    def resend(self, request, queryset) -> None:
        count = services.deliveries_resend(deliveries=queryset)
        queued = (
            "Queued 1 delivery; the worker sends it within seconds."
            if count == 1
            else f"Queued {count} deliveries; the worker sends them within seconds."
        )
        self.message_user(request, queued, messages.SUCCESS)
