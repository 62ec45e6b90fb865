"""The report's headline: two or three sentences a policy reader can quote.

For the question asked: how many studies were included (and, when the full-text assessment excluded some, how
many and why); which valued outcomes have any evidence and at what certainty; which have none; and, when no
database was searched, that the figures describe the studies other methods found, not the literature. Every
number comes from ``evidence.json`` (the outcomes, the PRISMA flow), every name from the protocol.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from synth.wording import count


def _join(items: Sequence[str]) -> str:
    """"a, b and c"; with semicolons when an item holds a comma of its own."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    if any("," in x for x in items):
        return "; ".join(items[:-1]) + "; and " + items[-1]
    return ", ".join(items[:-1]) + " and " + items[-1]


def headline(outcomes: Sequence[Mapping[str, Any]], prisma: Mapping[str, Any] | None, *, intervention: str,
             not_valued: Sequence[str] = ()) -> dict[str, Any]:
    """``{"text", "studies", "excluded", "with_evidence", "without_evidence"}`` for the report's first lines."""
    subject = intervention.strip().lower() or "the intervention"
    valued = [o for o in outcomes if o.get("domain") not in not_valued]
    others = [o for o in outcomes if o.get("domain") in not_valued and o.get("k")]
    with_evidence = [o for o in valued if o.get("k")]
    without = [o for o in valued if not o.get("k") and o.get("status") != "not extracted"]
    unextracted = [o for o in valued if not o.get("k") and o.get("status") == "not extracted"]
    sentences = []
    studies = int(prisma["total_studies"]) if prisma and prisma.get("total_studies") is not None else None
    excluded: dict[str, int] = {}
    if prisma:
        for key in ("dbr_excluded", "other_excluded"):
            for reason, n in (prisma.get(key) or {}).items():
                excluded[str(reason)] = excluded.get(str(reason), 0) + int(n)
    if studies is not None:
        verb = "was" if studies == 1 else "were"
        text = f"For the question asked, {count(studies, 'study', 'studies')} of {subject} {verb} included"
        adopted = int((prisma or {}).get("adopted_inclusions") or 0)
        if adopted:
            which = "all of them" if adopted == studies else f"{adopted} of them"
            text += f" ({which} on decisions adopted from elsewhere, not assessed against this protocol's criteria)"
        if excluded:
            parts = [f"{n} as \u201c{reason.lower()}\u201d" for reason, n in excluded.items()]
            n_out = sum(excluded.values())
            text += f"; {n_out} assessed at full text {'was' if n_out == 1 else 'were'} excluded ({_join(parts)})"
        sentences.append(text + ".")
    if valued:
        if with_evidence:
            shown = [f"{str(o['label']).lower()} ({o['certainty']['rating']} certainty, "
                     f"{count(int(o['k']), 'study', 'studies')})" for o in with_evidence]
            sentences.append(f"{len(with_evidence)} of the protocol's {len(valued)} valued outcomes "
                             f"{'has' if len(with_evidence) == 1 else 'have'} any evidence: {_join(shown)}.")
        else:
            sentences.append(f"None of the protocol's {len(valued)} valued outcomes has any evidence.")
        if without:
            sentences.append(f"No included study measured {_join([str(o['label']).lower() for o in without])}.")
        if unextracted:
            sentences.append(f"No data on {_join([str(o['label']).lower() for o in unextracted])} were extracted "
                             "from the included studies.")
    if others:
        shown = [f"{str(o['label']).lower()} ({o['certainty']['rating']}, {count(int(o['k']), 'study', 'studies')})"
                 for o in others]
        sentences.append(f"Other outcomes with evidence: {_join(shown)}.")
    if prisma and not int(prisma.get("database_results") or 0) and not int(prisma.get("register_results") or 0):
        sentences.append("No database was searched, so these figures describe the studies other methods found, "
                         "not the literature.")
    return {"text": " ".join(sentences), "studies": studies, "excluded": excluded,
            "with_evidence": [str(o["label"]) for o in with_evidence],
            "without_evidence": [str(o["label"]) for o in without + unextracted]}
