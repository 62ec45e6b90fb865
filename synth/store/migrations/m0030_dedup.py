"""Deduplication: the links a run found (matches and maybe pairs) and the decisions people made on pairs."""

from __future__ import annotations

import sqlalchemy as sa


def upgrade(conn: sa.Connection) -> None:
    md = sa.MetaData()
    sa.Table(
        "dedup_links",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_a", sa.Integer, nullable=False, index=True),
        sa.Column("record_b", sa.Integer, nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False, index=True),
        sa.Column("rule", sa.Text, nullable=False, server_default=""),
        sa.Column("score", sa.Float, nullable=False, server_default="0"),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    sa.Table(
        "dedup_decisions",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_a", sa.Integer, nullable=False),
        sa.Column("record_b", sa.Integer, nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False, server_default=""),
        sa.UniqueConstraint("record_a", "record_b", name="uq_dedup_decisions_pair"),
    )
    md.create_all(conn)
