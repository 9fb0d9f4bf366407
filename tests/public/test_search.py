"""Full-text search as people type it: words ANDed, the last a prefix, place names and
aliases in both languages, Persian letter variants, ranked keyset pages, highlighting, and
never an unpublished clip (real FTS5 / PostgreSQL full-text, through the app)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from app.db import session_scope
from app.kit.cursor import encode_cursor

HTML = {"accept": "text/html"}


def _codes(client: TestClient, query: str) -> list[str]:
    r = client.get("/api/v1/published", params={"q": query, "limit": 200})
    assert r.status_code == 200, r.text
    return [c["code"] for c in r.json()["items"]]


def test_words_places_and_aliases(client: TestClient, add_clip: Callable[..., str]) -> None:
    protest = add_clip(title_en="Protest at the bazaar")  # Shiraz, Fars
    other = add_clip(title_en="Protest on the highway", city="Ahvaz", province="Khuzestan")
    esfahan = add_clip(title_en="Night gathering", city="Esfahan", province="Esfahan")
    add_clip(title_en="Funeral procession")  # Shiraz, no protest
    assert _codes(client, "protest shiraz") == [protest]  # both words, one from the place
    assert sorted(_codes(client, "protest")) == sorted([protest, other])
    assert _codes(client, "PROTEST Shir") == [protest]  # case, and the last word a prefix
    assert _codes(client, "Isfahan") == [esfahan]  # an alias of the city
    assert _codes(client, "Ispahan gathering") == [esfahan]
    assert _codes(client, "اصفهان") == [esfahan]  # the Farsi city name
    assert _codes(client, "فارس") and esfahan not in _codes(client, "فارس")  # Farsi province
    assert _codes(client, "protest tehran") == []
    assert _codes(client, "!!!") == []  # no word at all matches nothing, not everything
    assert _codes(client, esfahan.lower()) == [esfahan]  # the code


def test_persian_letter_variants_zwnj_and_diacritics(
    client: TestClient, add_clip: Callable[..., str]
) -> None:
    arabic = add_clip(title_fa="تظاهرات كارگران در خيابان")  # Arabic kaf and yeh
    zwnj = add_clip(title_fa="اعتراض\u200cها ادامه دارد", title_en="x")
    marks = add_clip(title_fa="مَدرَسه")  # with fatha diacritics
    assert _codes(client, "کارگران خیابان") == [arabic]  # typed with Persian letters
    assert _codes(client, "كارگران") == [arabic]  # and with the Arabic ones
    assert _codes(client, "اعتراضها") == [zwnj] == _codes(client, "اعتراض\u200cها")
    assert _codes(client, "مدرسه") == [marks]


def test_later_alias_and_renamed_place_are_searchable(
    client: TestClient, add_clip: Callable[..., str]
) -> None:
    from sqlalchemy import select

    from app.places.models import Place, PlaceAlias

    code = add_clip(title_en="Crowd")
    assert _codes(client, "Shirazabad") == []
    with session_scope() as session:
        city = session.scalar(select(Place).where(Place.name_en == "Shiraz"))
        assert city is not None
        session.add(
            PlaceAlias(place_id=city.id, country_code="IRN", kind="city", alias="shirazabad")
        )
    assert _codes(client, "shirazabad crowd") == [code]
    with session_scope() as session:
        prov = session.scalar(
            select(Place).where(Place.name_en == "Fars", Place.kind == "province")
        )
        assert prov is not None
        prov.name_en = "Parsland"
    assert _codes(client, "parsland") == [code]


def test_ranked_keyset_pages_and_invalid_cursors(
    client: TestClient, add_clip: Callable[..., str]
) -> None:
    best = add_clip(title_en="Flood flood in the river", description_en="The flood came")
    rest = [add_clip(title_en=f"Clip {i}", description_en=f"after the flood number {i}")
            for i in range(5)]  # fmt: skip
    whole = _codes(client, "flood")
    assert whole[0] == best and sorted(whole) == sorted([best, *rest])
    walked: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"q": "flood", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/api/v1/published", params=params).json()
        walked += [c["code"] for c in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert walked == whole  # every match once, in rank order
    for bad in (
        encode_cursor({"id": 3}),  # a listing's cursor is not a search's
        encode_cursor({"id": 3, "r": "x"}),
        encode_cursor({"id": -1, "r": 0.5}),
        "not-a-cursor",
    ):
        r = client.get("/api/v1/published", params={"q": "flood", "cursor": bad})
        assert r.status_code == 422 and r.json()["error"] == "invalid_cursor", bad
        page = client.get("/clips", params={"q": "flood", "cursor": bad}, headers=HTML)
        assert page.status_code == 422


def test_results_page_highlights_escaped(client: TestClient, add_clip: Callable[..., str]) -> None:
    add_clip(title_en="Protest <b>near</b> the gate")
    r = client.get("/clips", params={"q": "protest shiraz"}, headers=HTML)
    assert r.status_code == 200
    assert "<mark>Protest</mark> &lt;b&gt;near&lt;/b&gt; the gate" in r.text
    assert "<mark>Shiraz</mark>" in r.text and "<b>near</b>" not in r.text
    fa = client.get("/fa/clips", params={"q": "شیر"}, headers=HTML)
    assert "<mark>شیراز</mark>" in fa.text


def test_unpublished_clips_are_never_found_publicly(
    client: TestClient, add_clip: Callable[..., str], make_user: Callable[..., object]
) -> None:
    """The index holds every clip (the team searches all states); public search joins it
    to published rows only."""
    for status in ("draft", "in_review", "verified", "rejected", "retracted"):
        add_clip(status=status, title_en=f"Qwertycanary {status}")
    published = add_clip(title_en="Qwertycanary published")
    assert _codes(client, "qwertycanary") == [published]
    page = client.get("/clips", params={"q": "qwertycanar"}, headers=HTML)
    assert page.text.count("Qwertycanary") == 1 and "draft" not in page.text.split("<main")[-1]
    team = make_user("reviewer")
    r = client.get("/api/v1/clips", params={"q": "qwertycanary"}, headers=team.headers)  # type: ignore[attr-defined]
    assert len(r.json()["items"]) == 6  # the index does hold them: only the join hides them
