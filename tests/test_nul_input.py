"""Text with NUL (U+0000) is invalid input everywhere: a 422 naming the field, never a 500
(PostgreSQL cannot store NUL in text) and never stored (SQLite would)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def test_nul_in_json_form_query_and_path_is_a_422(client: TestClient, admin: Any) -> None:
    r = client.post(
        "/api/v1/clips",
        json={"city": "Shiraz", "province": "Fars", "date": "16 Nov 2019", "title_en": "a\u0000b"},
        headers=admin.headers,
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "title_en" and r.json()["error"] == "invalid"
    r = client.post(
        "/api/v1/review/checklist-items",
        json={"key": "weather", "label_en": "ok", "label_fa": "v}8\u0000"},
        headers=admin.headers,
    )
    assert (r.status_code, r.json()["field"]) == (422, "label_fa")
    r = client.get("/api/v1/clips?q=a%00b", headers=admin.headers)
    assert (r.status_code, r.json()["field"]) == (422, "q")
    r = client.get("/api/v1/clips/IRN%00", headers=admin.headers)
    assert (r.status_code, r.json()["field"]) == (422, "path")
    r = client.post("/login", data={"email": "a\u0000@example.org", "password": "x"})
    assert (r.status_code, r.json()["field"]) == (422, "email")
    assert client.get("/api/v1/clips", headers=admin.headers).json()["items"] == []


def test_ordinary_text_and_uploads_pass(client: TestClient, admin: Any) -> None:
    r = client.post(
        "/api/v1/clips",
        json={"city": "Shiraz", "province": "Fars", "date": "16 Nov 2019", "title_en": "a\\u0000b"},
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text  # a backslash and "u0000" are just text
    assert r.json()["title_en"] == "a\\u0000b"
