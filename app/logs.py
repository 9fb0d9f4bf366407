"""The log configuration `archive serve` gives uvicorn: uvicorn's own, plus a filter on its
handlers that redacts secrets in query strings (``app.kit.redact``), so a key, token or
CSRF token sent in a URL never reaches the access log (the request itself gets a 400)."""

from __future__ import annotations

import copy
from typing import Any

SECRET_FILTER = "redact_secrets"


def secret_query_names() -> set[str]:
    from app.accounts.deps import CSRF_FIELD, QUERY_KEY_NAMES

    return {*QUERY_KEY_NAMES, CSRF_FIELD}


def log_config() -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})[SECRET_FILTER] = {
        "()": "app.kit.redact.RedactQuery",
        "names": sorted(secret_query_names()),
    }
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append(SECRET_FILTER)
    return config
