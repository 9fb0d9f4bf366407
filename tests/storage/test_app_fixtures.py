"""The shared fixtures of tests/s3.py really switch the app's backend (else every test that
uses them would test the local disk twice)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.config import get_settings
from app.storage.configured import get_backend
from tests.s3 import moto, on_s3, other_node, storage

__all__ = ["moto", "on_s3", "other_node", "storage"]


def test_storage_fixture_selects_the_backend(storage: str, client: Any) -> None:
    assert get_backend().name == storage
    assert get_settings().storage == storage
    assert client.get("/healthz").status_code == 200


def test_other_node_has_an_empty_media_root(on_s3: Any, other_node: Callable[[], Path]) -> None:
    before = get_settings().media_root
    root = other_node()
    assert get_settings().media_root == root != before
    assert list(root.iterdir()) == []
    assert get_backend().name == "s3"
