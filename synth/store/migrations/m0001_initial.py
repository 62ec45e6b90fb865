"""Initial schema: migrations log, append-only event log, imports and records."""

from __future__ import annotations

import sqlalchemy as sa


def upgrade(conn: sa.Connection) -> None:
    md = sa.MetaData()
    sa.Table(
        "events",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False, index=True),
        sa.Column("actor", sa.String(200), nullable=False, server_default=""),
        sa.Column("subject", sa.String(200), nullable=False, server_default=""),
        sa.Column("payload", sa.JSON, nullable=False),
    )
    sa.Table(
        "imports",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, index=True),
        sa.Column("format", sa.String(40), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False, server_default="database"),
        sa.Column("records_found", sa.Integer, nullable=False),
        sa.Column("imported", sa.Integer, nullable=False),
        sa.Column("report", sa.JSON, nullable=False),
    )
    sa.Table(
        "records",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("abstract", sa.Text, nullable=False, server_default=""),
        sa.Column("authors", sa.JSON, nullable=False),
        sa.Column("year", sa.Integer, nullable=True),
        sa.Column("journal", sa.Text, nullable=False, server_default=""),
        sa.Column("volume", sa.String(100), nullable=False, server_default=""),
        sa.Column("issue", sa.String(100), nullable=False, server_default=""),
        sa.Column("pages", sa.String(100), nullable=False, server_default=""),
        sa.Column("doi", sa.String(300), nullable=True, index=True),
        sa.Column("pmid", sa.String(40), nullable=True, index=True),
        sa.Column("pmcid", sa.String(40), nullable=True),
        sa.Column("openalex_id", sa.String(40), nullable=True),
        sa.Column("issns", sa.JSON, nullable=False),
        sa.Column("keywords", sa.JSON, nullable=False),
        sa.Column("language", sa.String(100), nullable=False, server_default=""),
        sa.Column("publication_type", sa.Text, nullable=False, server_default=""),
        sa.Column("url", sa.Text, nullable=False, server_default=""),
        sa.Column("source", sa.String(200), nullable=False, server_default=""),
        sa.Column("source_kind", sa.String(20), nullable=False, server_default="database"),
        sa.Column("source_file", sa.Text, nullable=False, server_default=""),
        sa.Column("source_record_number", sa.Integer, nullable=True),
        sa.Column("source_record_id", sa.String(300), nullable=False, server_default=""),
        sa.Column("imported_at", sa.String(40), nullable=False, server_default=""),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=True),
        sa.Column("search_run_id", sa.Integer, nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False, index=True),
        sa.Column("raw", sa.JSON, nullable=False),
        sa.Column("cluster_id", sa.Integer, nullable=True, index=True),
        sa.Column("duplicate_of", sa.Integer, nullable=True),
    )
    md.create_all(conn)
