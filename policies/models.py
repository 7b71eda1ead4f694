import secrets
from typing import TypedDict
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models


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


class Site(models.Model):
    """A company website the widget may run on, and where a session may navigate."""

    name = models.CharField(max_length=100, unique=True)
    key = models.CharField(
        "site key", max_length=40, unique=True, default=new_site_key, editable=False
    )
    allowed_origins = models.TextField(
        help_text="One origin per line, for example https://shop.example.com",
    )
    write_mode_enabled = models.BooleanField(
        default=True, help_text="Agents may ask the customer for write mode."
    )
    submit_restricted = models.BooleanField(
        default=True, help_text="Submit buttons are restricted for agents."
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        lines = [line for line in self.allowed_origins.splitlines() if line.strip()]
        if not lines:
            raise ValidationError({"allowed_origins": "Give at least one origin."})
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

    def to_dict(self) -> SiteDict:
        return {
            "key": self.key,
            "name": self.name,
            "origins": self.origins,
            "write_mode_enabled": self.write_mode_enabled,
            "submit_restricted": self.submit_restricted,
        }


def _forget_origins(**kwargs) -> None:
    from policies.selectors import forget_cached_origins

    forget_cached_origins()


models.signals.post_save.connect(_forget_origins, sender=Site)
models.signals.post_delete.connect(_forget_origins, sender=Site)
