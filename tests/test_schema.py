"""The OpenAPI schema at /api/v1/schema/: generated without complaints, and true to the responses."""

import logging

import pytest
from django.test import Client
from drf_spectacular.drainage import GENERATOR_STATS

from policies.selectors import policy_for_site

pytestmark = pytest.mark.django_db

POLICY_PATH = "/api/v1/sites/{key}/policy"


def fetch_schema() -> dict:
    response = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def resolve(schema: dict, node: dict) -> dict:
    """A component for a `$ref`, or for `allOf: [$ref]` (a reference with a description)."""
    while "$ref" in node or "allOf" in node:
        if "allOf" in node:
            (node,) = node["allOf"]
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_fetching_the_schema_warns_about_nothing(capsys, caplog):
    caplog.set_level(logging.DEBUG)
    fetch_schema()
    # drf-spectacular prints its warnings and errors to stderr, and counts them.
    err = capsys.readouterr().err
    assert "unable to guess serializer" not in err
    assert "Warning" not in err and "Error" not in err, err
    assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache
    complaints = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert complaints == [], [r.getMessage() for r in complaints]


def test_the_policy_endpoint_is_described_with_every_field_it_returns(site):
    schema = fetch_schema()
    get = schema["paths"][POLICY_PATH]["get"]
    assert [p["name"] for p in get["parameters"] if p["in"] == "query"] == ["url"]
    policy = resolve(schema, get["responses"]["200"]["content"]["application/json"]["schema"])
    returned = policy_for_site(site, "https://shop.example.com/checkout/")
    assert set(policy["properties"]) == set(returned)
    assert set(policy["required"]) == set(returned)
    props = policy["properties"]
    assert props["version"]["type"] == "integer"
    assert props["write_mode_enabled"]["type"] == "boolean"
    assert props["origins"] == {
        "type": "array",
        "items": {"type": "string"},
        "description": props["origins"]["description"],
    }
    for name in ("mask", "restrict", "attributes"):
        assert set(resolve(schema, props[name])["properties"]) == set(returned[name]), name
    frames = resolve(schema, props["frames"])
    assert set(frames["properties"]) == set(returned["frames"])
    assert set(resolve(schema, frames["properties"]["mask"])["properties"]) == set(
        returned["frames"]["mask"]
    )
    for status in ("403", "404"):
        error = resolve(schema, get["responses"][status]["content"]["application/json"]["schema"])
        assert set(error["properties"]) == {"code", "message"}
