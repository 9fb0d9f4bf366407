"""full-text search: clip.search_doc kept by triggers, FTS5 (SQLite) / tsvector GIN (PostgreSQL)

clip.search_doc is the text a search matches: the code, English and Farsi titles and
descriptions, the city and province names in both languages and every alias of both,
with the Arabic/Persian letter variants unified (ي -> ی, ك -> ک), ZWNJ and Arabic
diacritics removed. Triggers keep it true on every write (clips, place names, aliases), so
no write path (ORM, importer, bulk SQL) can forget it. Case is folded by the tokenizers.

SQLite: clip_fts, an external-content FTS5 table over clip.search_doc (rowid = clip.id),
kept in sync by triggers. PostgreSQL: clip.search_tsv, a stored generated tsvector
(``simple`` configuration) with a GIN index. Existing rows are indexed here. Downgrade
drops all of it. (A later SQLite batch_alter_table on clip recreates the table and drops
its triggers: such a migration must run ``create_triggers`` again.)

Revision ID: 5e4c1a9b7d20
Revises: 772910cc536d
Create Date: 2026-12-02 09:00:00+00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '5e4c1a9b7d20'
down_revision: Union[str, Sequence[str], None] = '772910cc536d'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

VARIANTS = {"\u064a": "\u06cc", "\u0643": "\u06a9"}  # Arabic yeh/kaf -> Persian
# ZWNJ and the Arabic diacritics (fathatan .. sukun, superscript alef) are removed
REMOVED = ["\u200c", *(chr(c) for c in range(0x064B, 0x0653)), "\u0670"]
TEXT_COLUMNS = ("code", "title_en", "title_fa", "description_en", "description_fa")


def _norm(dialect: str, expr: str) -> str:
    if dialect == "postgresql":
        src, dst = "".join(VARIANTS), "".join(VARIANTS.values())
        return f"regexp_replace(translate({expr}, '{src}', '{dst}'), '[{''.join(REMOVED)}]', '', 'g')"
    for a, b in [*VARIANTS.items(), *((r, "") for r in REMOVED)]:
        expr = f"replace({expr}, '{a}', '{b}')"
    return expr


def doc_sql(dialect: str, ref: str) -> str:
    """The search document of the clip row ``ref`` (a table name or NEW)."""
    parts = [f"coalesce({ref}.{c}, '')" for c in TEXT_COLUMNS]
    pid = f"{ref}.place_id"
    names = " || ' ' || ".join(
        f"coalesce({t}.{n}, '')" for t in ("sc", "sp") for n in ("name_en", "name_fa")
    )
    parts.append(
        f"coalesce((SELECT {names} FROM place sc JOIN place sp ON sp.id = sc.parent_id "
        f"WHERE sc.id = {pid}), '')"
    )
    agg = "string_agg(sa.alias, ' ')" if dialect == "postgresql" else "group_concat(sa.alias, ' ')"
    parts.append(
        f"coalesce((SELECT {agg} FROM place_alias sa WHERE sa.place_id = {pid} OR sa.place_id = "
        f"(SELECT sc.parent_id FROM place sc WHERE sc.id = {pid})), '')"
    )
    return _norm(dialect, " || ' ' || ".join(parts))


# clips of the place X (a city) or of the cities of X (a province)
AFFECTED = "place_id = {x} OR place_id IN (SELECT id FROM place WHERE parent_id = {x})"


def _refresh(dialect: str, x: str) -> str:
    return f"UPDATE clip SET search_doc = {doc_sql(dialect, 'clip')} WHERE {AFFECTED.format(x=x)};"


def _create_postgresql() -> None:
    d = "postgresql"
    op.execute(
        "CREATE FUNCTION clip_search_doc() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"NEW.search_doc := {doc_sql(d, 'NEW')}; RETURN NEW; END $$"
    )
    op.execute(
        f"CREATE TRIGGER clip_search_doc BEFORE INSERT OR UPDATE OF {', '.join(TEXT_COLUMNS)}, "
        "place_id ON clip FOR EACH ROW EXECUTE FUNCTION clip_search_doc()"
    )
    op.execute(
        "CREATE FUNCTION place_alias_search_doc() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP <> 'INSERT' THEN {_refresh(d, 'OLD.place_id')} END IF; "
        f"IF TG_OP <> 'DELETE' THEN {_refresh(d, 'NEW.place_id')} END IF; "
        "RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER place_alias_search_doc AFTER INSERT OR UPDATE OR DELETE ON place_alias "
        "FOR EACH ROW EXECUTE FUNCTION place_alias_search_doc()"
    )
    op.execute(
        "CREATE FUNCTION place_search_doc() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"{_refresh(d, 'NEW.id')} RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER place_search_doc AFTER UPDATE OF name_en, name_fa, parent_id ON place "
        "FOR EACH ROW EXECUTE FUNCTION place_search_doc()"
    )
    op.execute(
        "ALTER TABLE clip ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS "
        "(to_tsvector('simple', coalesce(search_doc, ''))) STORED"
    )
    op.execute(f"UPDATE clip SET search_doc = {doc_sql(d, 'clip')}")
    op.execute("CREATE INDEX ix_clip_search_tsv ON clip USING gin (search_tsv)")


def _create_sqlite() -> None:
    d = "sqlite"
    op.execute(
        "CREATE VIRTUAL TABLE clip_fts USING fts5(search_doc, content='clip', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
    )
    own = f"UPDATE clip SET search_doc = {doc_sql(d, 'clip')} WHERE id = NEW.id;"
    op.execute(f"CREATE TRIGGER clip_search_ai AFTER INSERT ON clip BEGIN {own} END")
    op.execute(
        f"CREATE TRIGGER clip_search_au AFTER UPDATE OF {', '.join(TEXT_COLUMNS)}, place_id "
        f"ON clip BEGIN {own} END"
    )
    forget = (
        "INSERT INTO clip_fts(clip_fts, rowid, search_doc) SELECT 'delete', OLD.id, "
        "OLD.search_doc WHERE OLD.search_doc IS NOT NULL;"
    )
    op.execute(
        f"CREATE TRIGGER clip_fts_au AFTER UPDATE OF search_doc ON clip BEGIN {forget} "
        "INSERT INTO clip_fts(rowid, search_doc) SELECT NEW.id, NEW.search_doc "
        "WHERE NEW.search_doc IS NOT NULL; END"
    )
    op.execute(f"CREATE TRIGGER clip_fts_ad AFTER DELETE ON clip BEGIN {forget} END")
    op.execute(
        "CREATE TRIGGER place_alias_search_ai AFTER INSERT ON place_alias BEGIN "
        f"{_refresh(d, 'NEW.place_id')} END"
    )
    op.execute(
        "CREATE TRIGGER place_alias_search_ad AFTER DELETE ON place_alias BEGIN "
        f"{_refresh(d, 'OLD.place_id')} END"
    )
    op.execute(
        "CREATE TRIGGER place_alias_search_au AFTER UPDATE ON place_alias BEGIN "
        f"{_refresh(d, 'OLD.place_id')} {_refresh(d, 'NEW.place_id')} END"
    )
    op.execute(
        "CREATE TRIGGER place_search_au AFTER UPDATE OF name_en, name_fa, parent_id ON place "
        f"BEGIN {_refresh(d, 'NEW.id')} END"
    )
    op.execute(f"UPDATE clip SET search_doc = {doc_sql(d, 'clip')}")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('clip', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_doc', sa.Text(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        _create_postgresql()
    else:
        _create_sqlite()


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_clip_search_tsv")
        op.execute("ALTER TABLE clip DROP COLUMN search_tsv")
        op.execute("DROP TRIGGER place_search_doc ON place")
        op.execute("DROP TRIGGER place_alias_search_doc ON place_alias")
        op.execute("DROP TRIGGER clip_search_doc ON clip")
        for fn in ("place_search_doc", "place_alias_search_doc", "clip_search_doc"):
            op.execute(f"DROP FUNCTION {fn}()")
    else:
        for t in (
            "place_search_au", "place_alias_search_au", "place_alias_search_ad",
            "place_alias_search_ai", "clip_fts_ad", "clip_fts_au", "clip_search_au",
            "clip_search_ai",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {t}")
        op.execute("DROP TABLE IF EXISTS clip_fts")
    with op.batch_alter_table('clip', schema=None) as batch_op:
        batch_op.drop_column('search_doc')
