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

# migration m0002_team
team_members = sa.Table(
    "team_members",
    metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("added_at", sa.String(40), nullable=False),
    sa.Column("added_by", sa.String(200), nullable=False, server_default=""),
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

# --- screening (migration m0040_screening) ---------------------------------------------------------------

screening_reviewers = sa.Table(
    "screening_reviewers",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("added_at", sa.String(40), nullable=False),
)

screening_decisions = sa.Table(
    "screening_decisions",
    metadata,
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

screening_resolutions = sa.Table(
    "screening_resolutions",
    metadata,
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

fulltext_reports = sa.Table(
    "fulltext_reports",
    metadata,
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("location", sa.Text, nullable=False, server_default=""),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("oa_url", sa.Text, nullable=False, server_default=""),
    sa.Column("study_id", sa.Integer, nullable=True, index=True),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False, server_default=""),
)

screening_stops = sa.Table(
    "screening_stops",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("reviewer", sa.String(200), nullable=False, server_default=""),
    sa.Column("rule", sa.String(40), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("result", sa.JSON, nullable=False),
)

# migration m0041_screening_tags
screening_tags = sa.Table(
    "screening_tags",
    metadata,
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
    sa.Column("reviewer", sa.String(200), primary_key=True),
    sa.Column("tag", sa.String(80), primary_key=True),
    sa.Column("at", sa.String(40), nullable=False),
)

# migration m0042_screening_claims
screening_claims = sa.Table(
    "screening_claims",
    metadata,
    sa.Column("stage", sa.String(20), primary_key=True),
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
    sa.Column("slot", sa.Integer, primary_key=True),
    sa.Column("reviewer", sa.String(200), nullable=False),
    sa.Column("expires", sa.Float, nullable=False),
    sa.UniqueConstraint("stage", "record_id", "reviewer", name="uq_screening_claims_reviewer"),
)

# -- search (issue 5; migration m0020_search) ------------------------------------------------------------------
search_runs = sa.Table(
    "search_runs",
    metadata,
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

search_pages = sa.Table(
    "search_pages",
    metadata,
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

dedup_links = sa.Table(
    "dedup_links",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("record_a", sa.Integer, nullable=False, index=True),
    sa.Column("record_b", sa.Integer, nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False, index=True),
    sa.Column("rule", sa.Text, nullable=False, server_default=""),
    sa.Column("score", sa.Float, nullable=False, server_default="0"),
    sa.Column("detail", sa.JSON, nullable=False),
)

dedup_decisions = sa.Table(
    "dedup_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("record_a", sa.Integer, nullable=False),
    sa.Column("record_b", sa.Integer, nullable=False),
    sa.Column("decision", sa.String(20), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False, server_default=""),
    sa.UniqueConstraint("record_a", "record_b", name="uq_dedup_decisions_pair"),
)
