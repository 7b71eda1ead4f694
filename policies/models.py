import secrets
from typing import TypedDict
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


def new_site_key() -> str:
    return secrets.token_urlsafe(18)


def normalize_origin(value: str) -> str:
    """`https://Shop.Example.com:443/` -> `https://shop.example.com`; raise ValueError if not an origin."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an origin like https://shop.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{value!r} has a path; an origin is scheme://host[:port] only")
    default_port = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    return f"{parts.scheme}://{host}{port}"


def origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        return normalize_origin(f"{parts.scheme}://{parts.netloc}")
    except ValueError:
        return None


class SiteDict(TypedDict):
    key: str
    name: str
    origins: list[str]
    write_mode_enabled: bool
    submit_restricted: bool
    allowed_query_params: list[str]
    mask_reveals_length: bool


class Site(models.Model):
    """A company website the widget may run on, and where a session may navigate."""

    name = models.CharField(max_length=100, unique=True)
    key = models.CharField(
        _("site key"), max_length=40, unique=True, default=new_site_key, editable=False
    )
    allowed_origins = models.TextField(
        help_text=_("One origin per line, for example https://shop.example.com"),
    )
    write_mode_enabled = models.BooleanField(
        default=True, help_text=_("Agents may ask the customer for write mode.")
    )
    submit_restricted = models.BooleanField(
        default=True, help_text=_("Submit buttons are restricted for agents.")
    )
    allowed_query_params = models.TextField(
        _("allowed query parameters"),
        blank=True,
        help_text=_(
            "Names of query parameters that may be kept in stored and shown URLs, one per "
            "line or comma separated. Empty: URLs are kept without query string (fragments never)."
        ),
    )
    mask_reveals_length = models.BooleanField(
        default=False,
        help_text=_(
            "Masks show one * per character (reveals the value's length). Off: every mask is ****."
        ),
    )
    # Retention (manage.py purge): days after which what ended is deleted; blank keeps it forever.
    session_retention_days = models.PositiveIntegerField(
        _("keep sessions for (days)"),
        null=True,
        blank=True,
        default=365,
        help_text=_(
            "Ended co-browse sessions, with their audit entries and agent actions, are "
            "deleted this many days after they ended. Blank: kept forever."
        ),
    )
    chat_retention_days = models.PositiveIntegerField(
        _("keep chat transcripts for (days)"),
        null=True,
        blank=True,
        default=90,
        help_text=_(
            "Ended chats (transcript and customer's name) are deleted this many days after "
            "they ended. Blank: kept forever."
        ),
    )
    alert_retention_days = models.PositiveIntegerField(
        _("keep privacy alerts for (days)"),
        null=True,
        blank=True,
        default=365,
        help_text=_(
            "Privacy alerts are deleted this many days after they were raised. Blank: kept forever."
        ),
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from policies.urls import parse_params

        self.allowed_query_params = "\n".join(parse_params(self.allowed_query_params))
        lines = [line for line in self.allowed_origins.splitlines() if line.strip()]
        if not lines:
            raise ValidationError({"allowed_origins": _("Give at least one origin.")})
        try:
            self.allowed_origins = "\n".join(dict.fromkeys(normalize_origin(x) for x in lines))
        except ValueError as e:
            raise ValidationError({"allowed_origins": str(e)}) from None

    @property
    def origins(self) -> list[str]:
        result = []
        for line in self.allowed_origins.splitlines():
            try:
                result.append(normalize_origin(line))
            except ValueError:
                continue
        return result

    def allows_origin(self, origin: str | None) -> bool:
        if not origin:
            return False
        try:
            return normalize_origin(origin) in self.origins
        except ValueError:
            return False

    def allows_url(self, url: str) -> bool:
        origin = origin_of(url)
        return origin is not None and origin in self.origins

    @property
    def kept_params(self) -> list[str]:
        """The query parameters URLs of this site keep when stored or shown."""
        from policies.urls import parse_params

        return parse_params(self.allowed_query_params)

    def to_dict(self) -> SiteDict:
        return {
            "key": self.key,
            "name": self.name,
            "origins": self.origins,
            "write_mode_enabled": self.write_mode_enabled,
            "submit_restricted": self.submit_restricted,
            "allowed_query_params": self.kept_params,
            "mask_reveals_length": self.mask_reveals_length,
        }


def _forget_origins(**kwargs) -> None:
    from policies.selectors import forget_cached_origins

    forget_cached_origins()


models.signals.post_save.connect(_forget_origins, sender=Site)
models.signals.post_delete.connect(_forget_origins, sender=Site)


def validate_selector(value: str) -> None:
    """A selector the browser and the server guard both understand, or a clear form error."""
    import soupsieve

    if not value.strip():
        raise ValidationError(_("Enter a CSS selector, for example #card-number or .private"))
    try:
        soupsieve.compile(value)
    except Exception as e:  # soupsieve raises SelectorSyntaxError and others
        first_line = str(e).splitlines()[0]
        raise ValidationError(
            _("Not a valid CSS selector: %(error)s") % {"error": first_line}
        ) from None


def validate_url_pattern(value: str) -> None:
    if value and not value.startswith("/") and "://" not in value:
        raise ValidationError(
            _("Start the pattern with / (a path like /checkout/*) or a full URL.")
        )


def _normalized_pattern(pattern: str) -> str:
    """`https://Shop.example.com:443/x/*` -> `https://shop.example.com/x/*`: the origin part as
    `origin_and_path` writes it, unless it holds a wildcard."""
    scheme, _, rest = pattern.partition("://")
    netloc, slash, path = rest.partition("/")
    if any(c in netloc for c in "*?["):
        return pattern
    try:
        origin = normalize_origin(f"{scheme}://{netloc}")
    except ValueError:
        return pattern
    return f"{origin}{slash}{path}"


class RuleQuerySet(models.QuerySet):
    def for_site(self, site: Site) -> "RuleQuerySet":
        return self.filter(enabled=True).filter(models.Q(site=site) | models.Q(site__isnull=True))


class _Rule(models.Model):
    site = models.ForeignKey(
        Site,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text=_("Leave empty to apply the rule to every site."),
    )
    selector = models.CharField(max_length=500, validators=[validate_selector])
    url_pattern = models.CharField(
        max_length=500,
        blank=True,
        validators=[validate_url_pattern],
        help_text=_("Optional: only on pages whose path (or full URL) matches, e.g. /checkout/*"),
    )
    description = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    updated = models.DateTimeField(auto_now=True)

    objects = RuleQuerySet.as_manager()

    class Meta:
        abstract = True

    def applies_to(self, url: str) -> bool:
        """Match the page's normalised path (or origin and path, for a full-URL pattern), so that
        `/demo/%61ccount/` and `/demo/x/../account/` are covered by `/demo/account/*`. Query and
        fragment never take part. A URL that cannot be read gets every rule (fail closed)."""
        if not self.url_pattern:
            return True
        from fnmatch import fnmatchcase

        from policies.urls import normalize_path, origin_and_path, strip_query

        raw = strip_query(url.strip()).replace("\\", "/")  # as browsers read http(s) URLs
        if not raw:
            return False
        if "://" not in raw and raw.startswith("/"):
            target_origin, path = "", raw  # a bare path
        elif (split := origin_and_path(raw)) is not None:
            target_origin, path = split
        else:
            return True
        path = normalize_path(path)
        if "://" not in self.url_pattern:
            return fnmatchcase(path, self.url_pattern)
        return bool(target_origin) and fnmatchcase(
            target_origin + path, _normalized_pattern(self.url_pattern)
        )


class MaskingRule(_Rule):
    class Kind(models.TextChoices):
        INPUT = "input", _("Input value (shown as ****)")
        TEXT = "text", _("Text (shown as ****)")
        BLOCK = "block", _("Whole element (grey area: images, media)")

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.INPUT)

    class Meta:
        ordering = ["site__name", "selector"]

    def __str__(self) -> str:
        return f"Mask {self.get_kind_display().split(' (')[0].lower()}: {self.selector}"


class RestrictionRule(_Rule):
    class Kind(models.TextChoices):
        CONTROL = "control", _("Control (button, link: green box, agent cannot use)")
        FIELD = "field", _("Field (purple box, value masked, agent cannot use)")

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CONTROL)

    class Meta:
        ordering = ["site__name", "selector"]

    def __str__(self) -> str:
        return f"Restrict {self.kind}: {self.selector}"


class PolicyVersion(models.Model):
    """One row, bumped on every save of a site or rule: sessions record the version in force."""

    number = models.PositiveIntegerField(default=1)
    changed = models.DateTimeField(auto_now=True)

    @classmethod
    def current(cls) -> int:
        row = cls.objects.first()
        return row.number if row else 1

    @classmethod
    def bump(cls) -> int:
        row, _ = cls.objects.get_or_create(pk=1)
        cls.objects.filter(pk=1).update(number=models.F("number") + 1)
        row.refresh_from_db()
        return row.number


class PrivacyAlert(models.Model):
    """The server guard scrubbed something the customer's browser should have masked.

    Never holds the value itself: only where it was and which rule should have caught it.
    """

    # SET_NULL: an alert is about the site's rules, and is kept for its own retention period
    # after the session it came from has been purged.
    session = models.ForeignKey(
        "sessions_app.CobrowseSession",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="privacy_alerts",
    )
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="privacy_alerts")
    node_id = models.IntegerField()
    kind = models.CharField(max_length=40)
    selector = models.CharField(max_length=500, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        indexes = [
            # Reports: alerts per day over a period, all sites, and the admin list newest first.
            models.Index(fields=["created"], name="alert_created"),
            # Reports filtered by site, and the purge: one site's alerts older than its cutoff.
            models.Index(fields=["site", "created"], name="alert_site_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on node {self.node_id}"


def _bump_policy(**kwargs) -> None:
    PolicyVersion.bump()


for _model in (Site, MaskingRule, RestrictionRule):
    models.signals.post_save.connect(
        _bump_policy, sender=_model, dispatch_uid=f"bump-{_model.__name__}"
    )
    models.signals.post_delete.connect(
        _bump_policy, sender=_model, dispatch_uid=f"bump-del-{_model.__name__}"
    )
