"""Screening claims: which reviewer holds which of a record's screening slots (one slot per reviewer the stage
needs), so that reviewers screening at once on one store are never handed a record whose slots are taken. A
claim expires (a reviewer who left or crashed frees it) unless the reviewer decided the record; existing active
decisions are taken over as decided claims."""

from __future__ import annotations

import sqlalchemy as sa

DONE = 1e18


def upgrade(conn: sa.Connection) -> None:
    md = sa.MetaData()
    sa.Table("records", md, sa.Column("id", sa.Integer, primary_key=True))
    claims = sa.Table(
        "screening_claims",
        md,
        sa.Column("stage", sa.String(20), primary_key=True),
        sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
        sa.Column("slot", sa.Integer, primary_key=True),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("expires", sa.Float, nullable=False),
        sa.UniqueConstraint("stage", "record_id", "reviewer", name="uq_screening_claims_reviewer"),
    )
    md.create_all(conn, tables=[claims])
    decisions = sa.Table("screening_decisions", sa.MetaData(), autoload_with=conn)
    rows = conn.execute(
        sa.select(decisions.c.stage, decisions.c.record_id, decisions.c.reviewer, sa.func.min(decisions.c.id))
        .where(decisions.c.active.is_(True))
        .group_by(decisions.c.stage, decisions.c.record_id, decisions.c.reviewer)
        .order_by(sa.func.min(decisions.c.id))).all()
    slots: dict[tuple[str, int], int] = {}
    values = []
    for stage, record_id, reviewer, _ in rows:
        slot = slots.get((stage, record_id), 0)
        slots[(stage, record_id)] = slot + 1
        values.append({"stage": stage, "record_id": record_id, "slot": slot, "reviewer": reviewer, "expires": DONE})
    if values:
        conn.execute(claims.insert(), values)
