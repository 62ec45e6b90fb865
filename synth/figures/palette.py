"""The one risk-of-bias palette, robvis's "cochrane" colours (McGuinness & Higgins, Res Synth Methods
2021;12:55-61), as published traffic-light figures use them, and the colours the other figures share.

Each judgement has a colour and a mark: ``+`` low, ``-`` some concerns (ROBINS-I moderate), ``x`` high
(ROBINS-I serious), ``!`` critical, ``?`` no information / unclear. A study nobody judged is grey, with no mark.
"""

from __future__ import annotations

from typing import Any

from synth.extraction.rob import normalise

LOW, SOME_CONCERNS, HIGH, CRITICAL, NO_INFORMATION, NOT_ASSESSED = (
    "#02C100", "#E2DF07", "#BF0000", "#820000", "#4EA1F7", "#CCCCCC")

ROB_STYLE: dict[str, tuple[str, str]] = {
    "low": (LOW, "+"), "some-concerns": (SOME_CONCERNS, "-"), "moderate": (SOME_CONCERNS, "-"),
    "high": (HIGH, "x"), "serious": (HIGH, "x"), "critical": (CRITICAL, "!"),
    "no-information": (NO_INFORMATION, "?"), "unclear": (NO_INFORMATION, "?"),
}
"""Judgement (as :func:`synth.extraction.rob.normalise` spells it) -> (colour, mark)."""

CLASS_COLOURS = {"low": LOW, "some-concerns": SOME_CONCERNS, "high": HIGH, "unknown": NOT_ASSESSED}
"""Colours of the classes of :func:`synth.extraction.rob.rob_class` (``unknown``: not assessed or no
information)."""

ROB_LEGEND = "+ low, - some concerns, x high, ! critical, ? no information; empty circle: not assessed"

EFFECT = "#2b6cb0"
"""Study estimates (squares and points)."""
POOLED = "#000000"
"""Pooled estimates (diamonds and lines)."""
INTERVAL = "#c53030"
"""Prediction intervals."""
#: cumulative steps: required information size reached with a CI excluding no effect (green), a CI excluding
#: important effects (blue); statuses from synth.evidence.maturity
STEP_COLOURS = {"ris-reached-ci-excludes-no-effect": "#2e7d32", "ci-excludes-important-effects": "#1565c0"}
"""Steps of a cumulative meta-analysis by status."""


def rob_style(value: Any) -> tuple[str, str] | None:
    """(colour, mark) of one judgement, or ``None`` when it is blank or not a judgement."""
    if not isinstance(value, str) or not value.strip():
        return None
    return ROB_STYLE.get(normalise(value))
