"""Full-text search over clips: the query side (the document side is migration 1060).

``clip.search_doc`` holds the code, the English and Farsi titles and descriptions, the city
and province names in both languages and every alias of both, with Arabic/Persian letter
variants unified; database triggers keep it true. SQLite searches it through the FTS5 table
``clip_fts`` (ranked by bm25), PostgreSQL through the generated ``clip.search_tsv``
(``simple`` configuration, GIN index, ranked by ts_rank).

A query is the AND of its words, the last one a prefix ("protest shir" finds "Shiraz"),
normalised like the documents: case folded, ي -> ی, ك -> ک, ZWNJ and Arabic diacritics
removed. ``rank`` sorts ascending (best first) on both databases, so a keyset cursor is
(rank, id).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CTE,
    Float,
    Integer,
    Select,
    bindparam,
    column,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.sql import ColumnElement

from app.clips.models import Clip

VARIANTS = str.maketrans(
    {"\u064a": "\u06cc", "\u0643": "\u06a9", "\u200c": None, "\u0670": None}
    | {chr(c): None for c in range(0x064B, 0x0653)}
)
_WORD = re.compile(r"[^\W_]+")
MAX_TERMS = 12


def normalise(text_: str) -> str:
    """The form in which documents are indexed and queries compared."""
    return unicodedata.normalize("NFKC", text_).casefold().translate(VARIANTS)


def terms(q: str | None) -> list[str]:
    """The words of a query (at most MAX_TERMS), normalised; [] when there are none."""
    return _WORD.findall(normalise(q or ""))[:MAX_TERMS]


@dataclass(frozen=True)
class Query:
    """A parsed search: its words and the engine's query string for ``dialect``."""

    words: tuple[str, ...]
    engine: str


def parse(q: str | None, dialect: str) -> Query | None:
    words = terms(q)
    if not words:
        return None
    if dialect == "postgresql":
        engine = " & ".join([*words[:-1], f"{words[-1]}:*"])
    else:  # FTS5: quoted strings are literal; juxtaposition is AND; * after the last is prefix
        engine = " ".join([*(f'"{w}"' for w in words[:-1]), f'"{words[-1]}"*'])
    return Query(tuple(words), engine)


def hits(dialect: str) -> CTE:
    """(clip_id, rank) of every clip matching the bound parameter ``fts``, best rank first
    when sorted ascending. Materialized on SQLite: bm25() may only be evaluated inside the
    full-text query itself, never in an outer WHERE (the keyset condition)."""
    if dialect == "postgresql":
        tsv: ColumnElement[Any] = literal_column("clip.search_tsv")
        tsq = func.to_tsquery("simple", bindparam("fts"))
        stmt: Select[Any] = select(
            Clip.id.label("clip_id"), (-func.ts_rank(tsv, tsq)).cast(Float).label("rank")
        ).where(tsv.op("@@")(tsq))
        return stmt.cte("hits")
    fts = text(
        "SELECT rowid AS clip_id, bm25(clip_fts) AS rank FROM clip_fts WHERE clip_fts MATCH :fts"
    ).columns(column("clip_id", Integer), column("rank", Float))
    return fts.cte("hits").prefix_with("MATERIALIZED")


def after(h: CTE) -> ColumnElement[bool]:
    """The keyset condition: rows after (``after_rank``, ``after_id``)."""
    r = bindparam("after_rank", type_=Float)
    return (h.c.rank > r) | ((h.c.rank == r) & (Clip.id > bindparam("after_id")))


def dialect_of(session: Any) -> str:
    return str(session.get_bind().dialect.name)
