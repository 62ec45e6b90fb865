"""The current schema as SQLAlchemy Core tables, for queries.

Tables are *created and altered* only by the ordered migrations in :mod:`synth.store.migrations`; this module
mirrors their end state. A test checks that the two agree on a fresh database.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

schema_migrations = sa.Table(
    "schema_migrations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("applied_at", sa.String(40), nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False, index=True),
    sa.Column("actor", sa.String(200), nullable=False, server_default=""),
    sa.Column("subject", sa.String(200), nullable=False, server_default=""),
    sa.Column("payload", sa.JSON, nullable=False),
)

imports = sa.Table(
    "imports",
    metadata,
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

records = sa.Table(
    "records",
    metadata,
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
