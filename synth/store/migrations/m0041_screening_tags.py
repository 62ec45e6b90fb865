"""Screening tags: a reviewer's own labels on a record ("check the protocol", "qualitative", "ask author"), as
Rayyan's labels. One row per record, reviewer and tag; removing a tag deletes its row (the event log keeps both)."""

from __future__ import annotations

import sqlalchemy as sa


def upgrade(conn: sa.Connection) -> None:
    md = sa.MetaData()
    sa.Table("records", md, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "screening_tags",
        md,
        sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
        sa.Column("reviewer", sa.String(200), primary_key=True),
        sa.Column("tag", sa.String(80), primary_key=True),
        sa.Column("at", sa.String(40), nullable=False),
    )
    md.create_all(conn, tables=[md.tables["screening_tags"]])
