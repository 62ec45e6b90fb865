"""The review team: who is a member and with which role (screener, lead, analyst). On PostgreSQL each member is
also a login role of the server, and the server enforces what the role may do (:mod:`synth.store.team`)."""

from __future__ import annotations

import sqlalchemy as sa


def upgrade(conn: sa.Connection) -> None:
    md = sa.MetaData()
    sa.Table(
        "team_members",
        md,
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("added_at", sa.String(40), nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False, server_default=""),
    )
    md.create_all(conn)
