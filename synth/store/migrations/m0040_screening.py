"""Screening: decisions (one row per decision, never deleted; undo and revisions deactivate), conflict
resolutions, reviewers, full-text retrieval with report-to-study links, and recorded stopping decisions."""

from __future__ import annotations

import sqlalchemy as sa


def upgrade(conn: sa.Connection) -> None:
    md = sa.MetaData()
    sa.Table("records", md, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "screening_reviewers",
        md,
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("added_at", sa.String(40), nullable=False),
    )
    sa.Table(
        "screening_decisions",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False, index=True),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(80), nullable=True),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("origin", sa.String(20), nullable=False, server_default="screen"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("event_id", sa.Integer, nullable=True),
        sa.Index("ix_screening_decisions_stage_reviewer", "stage", "reviewer"),
    )
    sa.Table(
        "screening_resolutions",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False, index=True),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(80), nullable=True),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("resolved_by", sa.String(200), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    )
    sa.Table(
        "fulltext_reports",
        md,
        sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("location", sa.Text, nullable=False, server_default=""),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("oa_url", sa.Text, nullable=False, server_default=""),
        sa.Column("study_id", sa.Integer, nullable=True, index=True),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False, server_default=""),
    )
    sa.Table(
        "screening_stops",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False, server_default=""),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
    )
    md.create_all(conn, tables=[t for name, t in md.tables.items() if name != "records"])
