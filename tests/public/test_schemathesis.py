"""Schemathesis against /openapi.json: bounded and seeded; no 5xx and responses that match
the documented schema (errors included: app/openapi.py documents the app's real error
shape). The partner API runs with a key holding every scope and anonymously; the rest of
the API runs as an admin (team endpoints), over the same demo archive."""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    allow_header_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from tests.public.conftest import Key

CHECKS = [not_a_server_error, response_schema_conformance]
FUZZ = settings(
    max_examples=12,
    derandomize=True,  # seeded: the same cases on every run
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.fixture()
def api_schema(demo: int, monkeypatch: pytest.MonkeyPatch) -> Any:
    from app.config import get_settings
    from app.main import create_app

    monkeypatch.setenv("ARCHIVE_PARTNER_ANONYMOUS_RATE_PER_MINUTE", "100000")
    get_settings.cache_clear()
    return schemathesis.openapi.from_asgi("/openapi.json", create_app())


def _fuzz(schema: Any, headers: dict[str, str], checks: list[Any] = CHECKS) -> list[str]:
    """Run every operation of ``schema``; return the operations that were exercised."""
    done: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @FUZZ
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=checks)

        run()
        done.append(operation.label)
    return done


PARTNER = r"^/api/v1/(published|changes|export)"


def test_partner_api_with_a_key(api_schema: Any, make_key: Any) -> None:
    key: Key = make_key("read", "export", "feed", rate=100000, partner="Fuzz")
    done = _fuzz(api_schema.include(path_regex=PARTNER), key.headers)
    assert len(done) == 5, done


def test_partner_api_anonymous(api_schema: Any) -> None:
    assert len(_fuzz(api_schema.include(path_regex=PARTNER), {})) == 5


def test_whole_api_as_an_admin(api_schema: Any, admin: Any) -> None:
    """Every other documented operation (team endpoints included), authenticated: no 5xx,
    and every response (4xx included) matches its documented schema."""
    done = _fuzz(api_schema.exclude(path_regex=PARTNER), admin.headers)
    assert len(done) > 20, done


def test_every_error_response_is_documented_with_the_real_shape(api_schema: Any) -> None:
    """No operation documents FastAPI's HTTPValidationError; each has a 4XX ErrorBody fallback."""
    raw = api_schema.raw_schema
    assert "HTTPValidationError" not in str(raw)
    for path, item in raw["paths"].items():
        for method, op in item.items():
            responses = op["responses"]
            assert "4XX" in responses, (method, path)
            for status, response in responses.items():
                if status.startswith("4") and status != "410":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (
                        method,
                        path,
                        status,
                    )
    error = raw["components"]["schemas"]["ErrorBody"]
    assert {"error", "detail"} <= set(error["required"])


def test_a_405_lists_every_method_the_path_allows(api_schema: Any, admin: Any) -> None:
    """Schemathesis' Allow check on an OPTIONS request to every operation (it failed on
    the nine operations whose path has several methods), and any undeclared method gets
    405 with an Allow header naming exactly the documented ones."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    done: list[str] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(FUZZ, max_examples=1)
        def run(case: Any) -> None:
            case.method = "OPTIONS"
            response = case.call(headers=admin.headers)
            # 405, or the tus discovery answer where OPTIONS is an operation itself
            assert response.status_code in (204, 405), (case.operation.label, response.status_code)
            case.validate_response(response, checks=[allow_header_conformance])

        run()
        done.append(operation.label)
    assert len(done) > 25, done
    client = TestClient(create_app())
    methods = {"get", "put", "post", "delete", "patch"}
    for path, item in api_schema.raw_schema["paths"].items():
        url = re.sub(r"\{\w*_id\}", "1", path.replace("{code}", "IRN091"))  # ids are ints
        url = url.replace("{", "").replace("}", "")
        declared = {m for m in item if m in methods}
        for method in sorted(methods - declared):
            r = client.request(method.upper(), url, headers=admin.headers)
            assert r.status_code == 405, (method, path, r.status_code)
            allowed = {m.strip().lower() for m in r.headers["allow"].split(",")}
            assert allowed - {"head", "options"} == declared, (method, path, r.headers["allow"])
