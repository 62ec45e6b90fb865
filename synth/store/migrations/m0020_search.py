"""Search runs and their pages (issue 5): what was sent to each API, when, what came back, and the paging
state after each stored page so an interrupted run resumes where it stopped."""

from __future__ import annotations

import sqlalchemy as sa


def upgrade(conn: sa.Connection) -> None:
    md = sa.MetaData()
    sa.Table(
        "search_runs",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(40), nullable=False, index=True),
        sa.Column("database", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False, server_default="database"),
        sa.Column("mode", sa.String(20), nullable=False, server_default="run"),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("limits", sa.JSON, nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False, index=True),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("finished_at", sa.String(40), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("hits", sa.Integer, nullable=True),
        sa.Column("retrieved", sa.Integer, nullable=False, server_default="0"),
        sa.Column("new", sa.Integer, nullable=False, server_default="0"),
        sa.Column("known", sa.Integer, nullable=False, server_default="0"),
        sa.Column("linked", sa.Integer, nullable=False, server_default="0"),
        sa.Column("pages", sa.Integer, nullable=False, server_default="0"),
        sa.Column("requests", sa.Integer, nullable=False, server_default="0"),
        sa.Column("state", sa.JSON, nullable=True),
        sa.Column("warnings", sa.JSON, nullable=False),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
    )
    sa.Table(
        "search_pages",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("search_runs.id"), nullable=False, index=True),
        sa.Column("page", sa.Integer, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("requests", sa.JSON, nullable=False),
        sa.Column("state_before", sa.JSON, nullable=True),
        sa.Column("state_after", sa.JSON, nullable=True),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("new", sa.Integer, nullable=False),
        sa.Column("known", sa.Integer, nullable=False),
    )
    md.create_all(conn)
