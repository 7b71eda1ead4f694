"""Sites and rules through the REST API, for administrators (the same as Django admin)."""

from django.db.models import ProtectedError
from rest_framework import permissions, serializers, viewsets
from rest_framework.response import Response

from policies.models import MaskingRule, RestrictionRule, Site, normalize_origin


class IsAdministrator(permissions.BasePermission):
    message = "Only administrators can change sites and rules."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_staff)


class SiteSerializer(serializers.ModelSerializer):
    origins = serializers.ListField(child=serializers.CharField(), allow_empty=False)
    allowed_query_params = serializers.ListField(
        child=serializers.CharField(max_length=100),
        source="kept_params",
        required=False,
        help_text="Query parameters that stored and shown URLs keep; all others are dropped.",
    )

    class Meta:
        model = Site
        fields = [
            "key",
            "name",
            "origins",
            "write_mode_enabled",
            "submit_restricted",
            "allowed_query_params",
            "mask_reveals_length",
            "session_retention_days",
            "chat_retention_days",
            "alert_retention_days",
            "created",
        ]
        read_only_fields = ["key", "created"]

    def validate_origins(self, value: list[str]) -> list[str]:
        try:
            return list(dict.fromkeys(normalize_origin(v) for v in value))
        except ValueError as e:
            raise serializers.ValidationError(str(e)) from None

    def validate_allowed_query_params(self, value: list[str]) -> list[str]:
        names = [name.strip() for name in value]
        if any(not name or set(name) & set("&=#?,") or name.split() != [name] for name in names):
            raise serializers.ValidationError(
                "Give parameter names only, like page or utm_source (no spaces, &, =, #, ?, ,)."
            )
        return list(dict.fromkeys(names))

    def _apply(self, instance: Site, data: dict) -> Site:
        origins = data.pop("origins", None)
        params = data.pop("kept_params", None)
        for name, value in data.items():
            setattr(instance, name, value)
        if origins is not None:
            instance.allowed_origins = "\n".join(origins)
        if params is not None:
            instance.allowed_query_params = "\n".join(params)
        instance.save()
        return instance

    def create(self, validated_data: dict) -> Site:
        return self._apply(Site(), validated_data)

    def update(self, instance: Site, validated_data: dict) -> Site:
        return self._apply(instance, validated_data)


class _RuleSerializer(serializers.ModelSerializer):
    site = serializers.SlugRelatedField(
        slug_field="key", queryset=Site.objects.all(), allow_null=True, required=False
    )

    class Meta:
        fields = [
            "id",
            "site",
            "selector",
            "kind",
            "url_pattern",
            "description",
            "enabled",
            "updated",
        ]
        read_only_fields = ["id", "updated"]


class MaskingRuleSerializer(_RuleSerializer):
    class Meta(_RuleSerializer.Meta):
        model = MaskingRule


class RestrictionRuleSerializer(_RuleSerializer):
    class Meta(_RuleSerializer.Meta):
        model = RestrictionRule


class SiteViewSet(viewsets.ModelViewSet):
    queryset = Site.objects.all()
    serializer_class = SiteSerializer
    permission_classes = [permissions.IsAuthenticated, IsAdministrator]
    lookup_field = "key"

    def destroy(self, request, *args, **kwargs):
        try:
            return super().destroy(request, *args, **kwargs)
        except ProtectedError:
            return Response(
                {
                    "code": "site_in_use",
                    "message": "This site has co-browse sessions on record; it cannot be "
                    "deleted. Remove its origins instead to stop new sessions.",
                },
                status=409,
            )


class MaskingRuleViewSet(viewsets.ModelViewSet):
    queryset = MaskingRule.objects.select_related("site")
    serializer_class = MaskingRuleSerializer
    permission_classes = [permissions.IsAuthenticated, IsAdministrator]


class RestrictionRuleViewSet(viewsets.ModelViewSet):
    queryset = RestrictionRule.objects.select_related("site")
    serializer_class = RestrictionRuleSerializer
    permission_classes = [permissions.IsAuthenticated, IsAdministrator]
