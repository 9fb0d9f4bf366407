"""The team catalogue API: codes, places, dates, filters, paging, versions, errors."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.clips.models import Clip
from app.custody.models import CustodyEvent
from app.db import session_scope


def new_clip(client, who, **fields):  # type: ignore[no-untyped-def]
    body = {"city": "Abadan", "province": "Khuzestan", "date": "16 Nov 2019", **fields}
    r = client.post("/api/v1/clips", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def clip_count() -> int:
    with session_scope() as s:
        return s.scalar(select(func.count(Clip.id))) or 0


def test_create_allocates_next_code_and_returns_full_record(client, contributor) -> None:
    first = new_clip(client, contributor, title_en="First", title_fa="نخست")
    second = new_clip(client, contributor)
    assert (first["code"], second["code"]) == ("IRN001", "IRN002")
    assert first["status"] == "draft" and first["version"] == 1
    assert first["city"] == "Abadan" and first["city_fa"] == "آبادان"
    assert first["province"] == "Khuzestan"
    assert first["created_by"] == contributor.email
    assert first["created_at"].endswith("Z") or first["created_at"].endswith("+00:00")
    assert first["date"] == {
        "edtf": "2019-11-16",
        "earliest": "2019-11-16",
        "latest": "2019-11-16",
        "display_en": "16 Nov 2019",
        "display_fa": "۲۵ آبان ۱۳۹۸",
    }


def test_explicit_code_is_kept_and_allocation_continues_after_it(client, contributor) -> None:
    assert new_clip(client, contributor, code="IRN148")["code"] == "IRN148"
    assert new_clip(client, contributor)["code"] == "IRN149"
    assert new_clip(client, contributor, code="IRN1000")["code"] == "IRN1000"
    assert new_clip(client, contributor)["code"] == "IRN1001"
    assert new_clip(client, contributor, code="IRN007")["code"] == "IRN007"
    assert new_clip(client, contributor)["code"] == "IRN1002"


def test_codes_are_never_reused_after_delete(client, contributor, admin) -> None:
    code = new_clip(client, contributor)["code"]
    assert client.delete(f"/api/v1/clips/{code}", headers=admin.headers).status_code == 204
    r = client.get(f"/api/v1/clips/{code}", headers=contributor.headers)
    assert r.status_code == 410 and r.json()["error"] == "clip_deleted"
    assert new_clip(client, contributor)["code"] == "IRN002"
    r = client.post(
        "/api/v1/clips",
        headers=contributor.headers,
        json={"code": code, "city": "Abadan", "province": "Khuzestan", "date": "16 Nov 2019"},
    )
    assert r.status_code == 409 and "deleted" in r.json()["detail"]


def test_duplicate_code_is_409(client, contributor) -> None:
    new_clip(client, contributor, code="IRN091")
    r = client.post(
        "/api/v1/clips",
        headers=contributor.headers,
        json={"code": "IRN091", "city": "Ahvaz", "province": "Khuzestan", "date": "16 Nov 2019"},
    )
    assert r.status_code == 409
    assert r.json() == {
        "error": "duplicate_code",
        "field": "code",
        "detail": "code IRN091 is already used by clip IRN091",
    }
    assert clip_count() == 1


@pytest.mark.parametrize("code", ["IRN1", "irn001", "XXX001", "IRN-001", "IRNABC", "IR001"])
def test_malformed_codes_are_422(client, contributor, code) -> None:
    r = client.post(
        "/api/v1/clips",
        headers=contributor.headers,
        json={"code": code, "city": "Ahvaz", "province": "Khuzestan", "date": "16 Nov 2019"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "code"
    assert clip_count() == 0


def test_aliases_resolve_to_one_place(client, contributor) -> None:
    a = new_clip(client, contributor, city="Isfahan", province="Isfahan")
    b = new_clip(client, contributor, city="esfahan", province="Esfahan")
    c = new_clip(client, contributor, city="Urmia", province="West Azerbaijan")
    assert a["city"] == b["city"] == "Esfahan"
    assert c["city"] == "Urumieh"
    r = client.get("/api/v1/clips?city=Isfahan", headers=contributor.headers)
    assert {i["code"] for i in r.json()["items"]} == {a["code"], b["code"]}


def test_unknown_city_or_wrong_province_is_422_via_api(client, contributor) -> None:
    r = client.post(
        "/api/v1/clips",
        headers=contributor.headers,
        json={"city": "Atlantis", "province": "Khuzestan", "date": "16 Nov 2019"},
    )
    assert r.status_code == 422 and r.json()["field"] == "city"
    r = client.post(
        "/api/v1/clips",
        headers=contributor.headers,
        json={"city": "Shiraz", "province": "Khuzestan", "date": "16 Nov 2019"},
    )
    assert r.status_code == 422 and "Fars" in r.json()["detail"]
    assert clip_count() == 0


@pytest.mark.parametrize("bad", ["31 Feb 2019", "2019-13-01", "yesterday", "23 – 15 Nov 2019", ""])
def test_impossible_dates_are_422_naming_field_value_and_example(client, contributor, bad) -> None:
    r = client.post(
        "/api/v1/clips",
        headers=contributor.headers,
        json={"city": "Ahvaz", "province": "Khuzestan", "date": bad},
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == "date" and body["error"] == "invalid_date"
    assert repr(bad) in body["detail"] or bad in body["detail"]
    assert "16 Nov 2019" in body["detail"]  # an accepted example
    assert clip_count() == 0


def test_date_filters_match_any_possible_day(client, contributor) -> None:
    either = new_clip(client, contributor, date="17 or 18 Nov 2019")["code"]
    span = new_clip(client, contributor, date="15 – 23 Nov 2019")["code"]
    month = new_clip(client, contributor, date="Nov 2019")["code"]
    other = new_clip(client, contributor, date="2 Dec 2019")["code"]

    def codes(query: str) -> set[str]:
        r = client.get(f"/api/v1/clips?{query}", headers=contributor.headers)
        assert r.status_code == 200, r.text
        return {i["code"] for i in r.json()["items"]}

    assert codes("on=2019-11-18") == {either, span, month}
    assert codes("on=16 Nov 2019") == {span, month}
    assert codes("from=2019-11-24&to=2019-12-01") == {month}
    assert codes("from=2019-12-01") == {other}
    assert codes("to=2019-11-14") == {month}


@pytest.mark.parametrize(
    "query,field",
    [
        ("on=2019-02-30", "on"),
        ("from=soon", "from"),
        ("to=15 – 16 Nov 2019", "to"),
        ("from=2019-12-01&to=2019-11-01", "from"),
        ("on=2019-11-01&from=2019-11-01", "on"),
        ("status=lost", "status"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=!!!", "cursor"),
        ("cursor=eyJ4IjoxfQ", "cursor"),
    ],
)
def test_bad_query_parameters_are_422_with_field(client, contributor, query, field) -> None:
    r = client.get(f"/api/v1/clips?{query}", headers=contributor.headers)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field


def test_filters_by_place_status_and_text(client, contributor) -> None:
    a = new_clip(client, contributor, city="Shiraz", province="Fars", title_en="Bridge crowd")
    new_clip(client, contributor, city="Ahvaz", province="Khuzestan", title_en="Night march")
    h = contributor.headers
    assert [
        i["code"] for i in client.get("/api/v1/clips?province=Fars", headers=h).json()["items"]
    ] == [a["code"]]
    assert [i["code"] for i in client.get("/api/v1/clips?q=bridge", headers=h).json()["items"]] == [
        a["code"]
    ]
    assert client.get("/api/v1/clips?q=100%25", headers=h).json()["items"] == []
    assert len(client.get("/api/v1/clips?status=draft&country=IRN", headers=h).json()["items"]) == 2
    assert client.get("/api/v1/clips?status=published", headers=h).json()["items"] == []


def test_country_filter_takes_names_and_codes_and_rejects_unknown(client, contributor) -> None:
    """country=Iran used to return 0 clips silently; now names (English and Farsi) and codes
    in any case find the clips, and a value that is no country is a 422 naming the field."""
    made = {new_clip(client, contributor)["code"] for _ in range(2)}
    h = contributor.headers
    for value in ("IRN", "irn", "IR", "Iran", "iran", "ایران", "Islamic Republic of Iran"):
        r = client.get("/api/v1/clips", params={"country": value}, headers=h)
        assert r.status_code == 200, (value, r.text)
        assert {i["code"] for i in r.json()["items"]} == made, value
    assert client.get("/api/v1/clips?country=Iraq", headers=h).json()["items"] == []
    for bad in ("Narnia", "XXX", "ایرن"):
        r = client.get("/api/v1/clips", params={"country": bad}, headers=h)
        assert r.status_code == 422 and r.json()["field"] == "country", bad


def test_keyset_pagination_walks_every_clip_once_in_stable_order(client, contributor) -> None:
    made = [new_clip(client, contributor)["code"] for _ in range(7)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        url = "/api/v1/clips?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=contributor.headers).json()
        seen += [i["code"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == made and pages == 3


def test_patch_with_current_version_updates_and_logs_before_after(client, contributor) -> None:
    clip = new_clip(client, contributor, title_en="Old")
    r = client.patch(
        f"/api/v1/clips/{clip['code']}",
        headers=contributor.headers,
        json={
            "version": 1,
            "title_en": "New",
            "date": "15 or 16 Nov 2019",
            "city": "Khoramshahr",
            "tags": ["night", "night", " fire "],
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == 2 and body["title_en"] == "New"
    assert body["date"]["edtf"] == "[2019-11-15,2019-11-16]"
    assert body["city"] == "Khoramshahr" and body["tags"] == ["night", "fire"]
    with session_scope() as s:
        event = s.scalars(select(CustodyEvent).where(CustodyEvent.action == "clip.updated")).one()
    assert event.payload["changes"]["title_en"] == {"before": "Old", "after": "New"}
    assert event.payload["changes"]["city"] == {"before": "Abadan", "after": "Khoramshahr"}
    assert event.actor == f"user:{contributor.email}"


def test_stale_version_is_409_and_changes_nothing(client, contributor) -> None:
    clip = new_clip(client, contributor, title_en="Original")
    url = f"/api/v1/clips/{clip['code']}"
    assert (
        client.patch(
            url, headers=contributor.headers, json={"version": 1, "title_en": "First edit"}
        ).status_code
        == 200
    )
    r = client.patch(
        url, headers=contributor.headers, json={"version": 1, "title_en": "Lost update"}
    )
    assert r.status_code == 409
    assert r.json()["error"] == "stale_version" and r.json()["current_version"] == 2
    assert client.get(url, headers=contributor.headers).json()["title_en"] == "First edit"


def test_code_is_immutable_and_unknown_fields_refused(client, contributor) -> None:
    clip = new_clip(client, contributor)
    r = client.patch(
        f"/api/v1/clips/{clip['code']}",
        headers=contributor.headers,
        json={"version": 1, "code": "IRN999"},
    )
    assert r.status_code == 422 and r.json()["field"] == "code"
    r = client.post(
        "/api/v1/clips",
        headers=contributor.headers,
        json={
            "city": "Ahvaz",
            "province": "Khuzestan",
            "date": "16 Nov 2019",
            "status": "published",
        },
    )
    assert r.status_code == 422 and r.json()["field"] == "status"


def test_bad_edit_leaves_record_unchanged(client, contributor) -> None:
    clip = new_clip(client, contributor, title_en="Keep")
    url = f"/api/v1/clips/{clip['code']}"
    r = client.patch(
        url,
        headers=contributor.headers,
        json={"version": 1, "title_en": "Changed", "date": "30 Feb 2019"},
    )
    assert r.status_code == 422
    after = client.get(url, headers=contributor.headers).json()
    assert after["title_en"] == "Keep" and after["version"] == 1


def test_unknown_code_is_404(client, contributor) -> None:
    r = client.get("/api/v1/clips/IRN404", headers=contributor.headers)
    assert r.status_code == 404
    assert r.json() == {
        "error": "clip_not_found",
        "detail": "no clip with the code IRN404",
        "field": "code",
    }


def test_delete_is_for_admins_only(client, contributor, reviewer) -> None:
    code = new_clip(client, contributor)["code"]
    for who in (contributor, reviewer):
        r = client.delete(f"/api/v1/clips/{code}", headers=who.headers)
        assert r.status_code == 403
    assert client.get(f"/api/v1/clips/{code}", headers=contributor.headers).status_code == 200


def test_malformed_json_is_422_not_500(client, contributor) -> None:
    r = client.post(
        "/api/v1/clips",
        headers={**contributor.headers, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert r.status_code == 422
    assert r.json()["error"] == "invalid"


def test_places_are_listed_with_farsi_names(client) -> None:
    places = client.get("/api/v1/places").json()
    by_city = {p["city"]: p for p in places}
    assert by_city["Esfahan"]["city_fa"] == "اصفهان"
    assert "isfahan" in by_city["Esfahan"]["aliases"]
    assert by_city["Abadan"]["province"] == "Khuzestan"
