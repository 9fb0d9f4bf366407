"""Secrets sent in a query string never reach the server's log (issue 11 §4)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.accounts.deps import QUERY_KEY_NAMES
from app.logs import secret_query_names

SECRETS = {
    "key": "vak_PLANTEDpartnerKEY0001",
    "token": "vat_PLANTEDteamTOKEN0002",
    "api_key": "PLANTED-api-key-0003",
    "access_token": "PLANTED-access-token-0004",
    "csrf_token": "PLANTED-csrf-token-0005",
    "apikey": "PLANTED-apikey-0006",
    "auth": "PLANTED-auth-0007",
}


def test_archive_serve_redacts_secret_query_values_in_its_log(db_url: str, tmp_path: Path) -> None:
    assert set(SECRETS) == secret_query_names()  # every name the API refuses in a URL
    log = tmp_path / "server.log"
    archive = Path(sys.executable).with_name("archive")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(archive), "serve", "--host", "127.0.0.1", "--port", "0"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ARCHIVE_JOBS": "off"},
        )
    try:
        base = _started(proc, log)
        paths = [f"/api/v1/published?{name}={value}" for name, value in SECRETS.items()]
        paths += [
            f"/?lang=en&api_key={SECRETS['api_key']}&x=1",  # not first in the query
            f"/healthz?KEY={SECRETS['key']}-upper",  # another case
            f"/healthz?%6Bey={SECRETS['key']}-encoded",  # a percent-encoded name
            f"/content-warning?next=/&csrf_token={SECRETS['csrf_token']}",
        ]
        with httpx.Client(base_url=base, timeout=30) as client:
            statuses = [client.get(p).status_code for p in paths]
            assert client.get("/healthz?q=kept").status_code == 200
        refused = {n for n, s in zip(SECRETS, statuses, strict=False) if s == 400}
        assert refused == QUERY_KEY_NAMES  # the API refuses keys in URLs (csrf_token is a form's)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    text = log.read_text()
    for value in SECRETS.values():
        assert value not in text
    assert '"GET /api/v1/published?key=[redacted] HTTP/1.1" 400' in text
    assert "/healthz?q=kept HTTP/1.1" in text  # the rest of the log is untouched
    assert len(re.findall(r"\[redacted\]", text)) == len(paths)


def _started(proc: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", log.read_text())
        if found:
            return found.group(1)
        assert proc.poll() is None, log.read_text()
        time.sleep(0.1)
    raise AssertionError("archive serve did not start: " + log.read_text())
