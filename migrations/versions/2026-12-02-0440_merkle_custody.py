"""merkle custody: the custody log becomes a Merkle tree (RFC 6962), with checkpoints

- ``custody_event.leaf_index``: the event's leaf; existing events get 0, 1, 2... in id order;
- ``custody_node``: every perfect subtree's hash (level 0: the leaves), built here from the
  existing events with the hashing of app/custody/merkle.py;
- ``custody_checkpoint`` (signed notes) and ``custody_timestamp`` (RFC 3161 tokens);
- on PostgreSQL ``custody_node`` and ``custody_checkpoint`` are append-only like
  ``custody_event`` (a trigger refuses UPDATE, DELETE and TRUNCATE).

Revision ID: 8d2e6f0a4c19
Revises: f2d78809af8d
Create Date: 2026-12-02 04:40:00+00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from app.custody import merkle
from app.db import UTCDateTime
from app.kit.canonical import canonical_json

revision: str = "8d2e6f0a4c19"
down_revision: str | Sequence[str] | None = "f2d78809af8d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("custody_node", "custody_checkpoint")


def _leaf(row: Any) -> bytes:
    # the event body of app/custody/service.py's event_body, frozen here
    body = {
        "occurred_at": row.occurred_at.isoformat(timespec="microseconds"),
        "actor": row.actor,
        "action": row.action,
        "clip_code": row.clip_code,
        "payload": row.payload,
    }
    return merkle.leaf_hash(canonical_json(body).encode())


def _backfill(pg: bool) -> None:
    bind = op.get_bind()
    events = sa.table(
        "custody_event",
        sa.column("id", sa.Integer),
        sa.column("leaf_index", sa.Integer),
        sa.column("occurred_at", UTCDateTime()),
        sa.column("actor", sa.String),
        sa.column("action", sa.String),
        sa.column("clip_code", sa.String),
        sa.column("payload", sa.JSON),
    )
    nodes = sa.table(
        "custody_node",
        sa.column("level", sa.SmallInteger),
        sa.column("idx", sa.Integer),
        sa.column("hash", sa.String),
    )
    tree = merkle.MemoryTree()
    if pg:
        op.execute("ALTER TABLE custody_event DISABLE TRIGGER custody_event_append_only")
    rows = bind.execute(sa.select(events).order_by(events.c.id)).all()
    for row in rows:
        bind.execute(
            events.update().where(events.c.id == row.id).values(leaf_index=tree.size)
        )
        tree.append(_leaf(row))
    if pg:
        op.execute("ALTER TABLE custody_event ENABLE TRIGGER custody_event_append_only")
    values = [
        {"level": level, "idx": idx, "hash": h.hex()}
        for level, hashes in enumerate(tree.levels)
        for idx, h in enumerate(hashes)
    ]
    for i in range(0, len(values), 1000):
        bind.execute(nodes.insert(), values[i : i + 1000])


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "custody_node",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_custody_node")),
    )
    op.create_table(
        "custody_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_checkpoint")),
    )
    with op.batch_alter_table("custody_checkpoint", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custody_checkpoint_size"), ["size"], unique=False)
    op.create_table(
        "custody_timestamp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("tsa_url", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("token", sa.LargeBinary(), nullable=True),
        sa.Column("chain_pem", sa.Text(), nullable=False),
        sa.Column("gen_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"],
            ["custody_checkpoint.id"],
            name=op.f("fk_custody_timestamp_checkpoint_id_custody_checkpoint"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_timestamp")),
    )
    with op.batch_alter_table("custody_timestamp", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_custody_timestamp_checkpoint_id"), ["checkpoint_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_custody_timestamp_status"), ["status"], unique=False)

    with op.batch_alter_table("custody_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leaf_index", sa.Integer(), nullable=True))
    _backfill(pg)
    if pg:  # (batch mode on SQLite copies the table; on PostgreSQL ALTER needs no trigger off)
        op.execute("ALTER TABLE custody_event ALTER COLUMN leaf_index SET NOT NULL")
        op.create_unique_constraint(
            op.f("uq_custody_event_leaf_index"), "custody_event", ["leaf_index"]
        )
    else:
        with op.batch_alter_table("custody_event", schema=None) as batch_op:
            batch_op.alter_column("leaf_index", existing_type=sa.Integer(), nullable=False)
            batch_op.create_unique_constraint(
                batch_op.f("uq_custody_event_leaf_index"), ["leaf_index"]
            )
    if pg:
        op.execute(
            """
            CREATE FUNCTION custody_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END
            $$
            """
        )
        for name in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {name} "
                "FOR EACH ROW EXECUTE FUNCTION custody_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
                "FOR EACH STATEMENT EXECUTE FUNCTION custody_refuse_change()"
            )


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    if pg:
        for name in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {name}_no_truncate ON {name}")
            op.execute(f"DROP TRIGGER IF EXISTS {name}_append_only ON {name}")
        op.execute("DROP FUNCTION IF EXISTS custody_refuse_change()")
        op.drop_constraint(op.f("uq_custody_event_leaf_index"), "custody_event", type_="unique")
        op.drop_column("custody_event", "leaf_index")
    else:
        with op.batch_alter_table("custody_event", schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f("uq_custody_event_leaf_index"), type_="unique")
            batch_op.drop_column("leaf_index")
    with op.batch_alter_table("custody_timestamp", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custody_timestamp_status"))
        batch_op.drop_index(batch_op.f("ix_custody_timestamp_checkpoint_id"))
    op.drop_table("custody_timestamp")
    with op.batch_alter_table("custody_checkpoint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custody_checkpoint_size"))
    op.drop_table("custody_checkpoint")
    op.drop_table("custody_node")
