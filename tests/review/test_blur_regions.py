"""Manual blur regions through the API: reviewers add and remove them, the team lists
them, each change is a custody event, bad boxes and ranges are refused."""

from __future__ import annotations

from tests.review.conftest import Api, Team


def test_add_list_remove_with_custody(api: Api, team: Team) -> None:
    code = api.new_clip(team.uploader)
    url = f"/api/v1/clips/{code}/blur-regions"
    box = {"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.25, "start_seconds": 1.5, "end_seconds": 4}
    made = api.c.post(url, json=box, headers=team.r1.headers)
    assert made.status_code == 201, made.text
    region = made.json()
    assert {k: region[k] for k in box} == box
    listed = api.c.get(url, headers=team.uploader.headers).json()
    assert [r["id"] for r in listed] == [region["id"]]
    # contributors look, reviewers mark
    assert api.c.post(url, json=box, headers=team.uploader.headers).status_code == 403
    gone = api.c.delete(f"{url}/{region['id']}", headers=team.r2.headers)
    assert gone.status_code == 204
    assert api.c.get(url, headers=team.r1.headers).json() == []
    assert api.c.delete(f"{url}/{region['id']}", headers=team.r2.headers).status_code == 404
    actions = [e["action"] for e in api.events(code, team.r1)]
    assert actions.count("review.blur_region_added") == 1
    assert actions.count("review.blur_region_removed") == 1


def test_bad_regions_are_refused(api: Api, team: Team) -> None:
    code = api.new_clip(team.uploader)
    url = f"/api/v1/clips/{code}/blur-regions"
    base = {"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.25, "start_seconds": 1, "end_seconds": 2}
    for bad in (
        {"x": 0.8, "w": 0.3},  # off the right edge
        {"y": -0.1},
        {"w": 0},
        {"start_seconds": 3, "end_seconds": 2},
    ):
        r = api.c.post(url, json={**base, **bad}, headers=team.r1.headers)
        assert r.status_code == 422, (bad, r.text)
    assert api.c.get(url, headers=team.r1.headers).json() == []


def test_region_form_on_the_team_page(api: Api, team: Team) -> None:
    code = api.new_clip(team.uploader)
    page = api.c.get(f"/team/clips/{code}", headers=team.r1.headers)
    assert page.status_code == 200 and 'data-testid="blur-form"' in page.text
    r = api.c.post(
        f"/team/clips/{code}/blur-regions",
        data={"x": "10", "y": "20", "w": "30", "h": "25", "start": "0:01", "end": "0:04"},
        headers=team.r1.headers,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    (region,) = api.c.get(f"/api/v1/clips/{code}/blur-regions", headers=team.r1.headers).json()
    assert (region["x"], region["w"], region["start_seconds"], region["end_seconds"]) == (
        0.1, 0.3, 1.0, 4.0,
    )  # fmt: skip
    contributor = api.c.get(f"/team/clips/{code}", headers=team.uploader.headers)
    assert 'data-testid="blur-form"' not in contributor.text


def test_the_panel_links_the_blurred_preview_only_for_a_flagged_clip(api: Api, team: Team) -> None:
    flagged = api.new_clip(team.uploader, identifiable_people=True)
    plain = api.new_clip(team.uploader)
    page = api.c.get(f"/team/clips/{flagged}", headers=team.r1.headers).text
    assert f'href="/api/v1/clips/{flagged}/public-preview/playback.mp4"' in page
    assert (
        "public-preview/playback.mp4"
        not in api.c.get(f"/team/clips/{plain}", headers=team.r1.headers).text
    )
    fa = api.c.get(f"/fa/team/clips/{flagged}", headers=team.r1.headers).text
    assert "محو کردن چهره‌ها در نسخهٔ عمومی" in fa
