"""Keep secrets sent in a URL's query string out of the logs.

``RedactQuery`` is a logging filter: in every string argument of a record (uvicorn's access
log passes the path with its query string as one), the value of each query parameter whose
name is in ``names`` becomes ``[redacted]``. Names match case-insensitively and after
percent-decoding (``%6Bey=`` is ``key=``), as the server would read them. The message
format is untouched. Domain-free; ``archive serve`` installs it (app/logs.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import unquote_plus

REDACTED = "[redacted]"
_PARAM = re.compile(r"(?P<sep>[?&;])(?P<name>[^=&;#\s\"]*)=(?P<value>[^&;#\s\"]*)")


class RedactQuery(logging.Filter):
    def __init__(self, names: Iterable[str] = ()) -> None:
        super().__init__()
        self.names = frozenset(n.lower() for n in names)

    def redact(self, text: str) -> str:
        if "=" not in text:
            return text

        def sub(m: re.Match[str]) -> str:
            if unquote_plus(m["name"]).strip().lower() in self.names:
                return f"{m['sep']}{m['name']}={REDACTED}"
            return m.group(0)

        return _PARAM.sub(sub, text)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self.redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = self.redact(record.msg)
        return True
