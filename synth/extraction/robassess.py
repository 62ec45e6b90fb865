"""Interactive risk-of-bias assessment: ask the signalling questions, show the algorithm's suggestion, let
the reviewer confirm it or override it with a reason, and save the assessment into the extraction file.

``ask(question) -> str`` and ``say(text)`` are injected so the flow is tested without a terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from synth.errors import InputError
from synth.extraction import rob
from synth.extraction.files import ExtractionFile, array_of_tables, dumps, write_text

Ask = Callable[[str], str]
Say = Callable[[str], None]


def _choose(ask: Ask, question: str, options: tuple[str, ...], normalise: Callable[[str], str] = str.upper) -> str:
    prompt = f"{question} [{'/'.join(options)}]"
    while True:
        answer = normalise(ask(prompt).strip())
        if answer in options:
            return answer
        prompt = f"Please answer one of {', '.join(options)}. {question}"


def _confirm_or_override(ask: Ask, say: Say, key: str, suggested: str, rule: str,
                         options: tuple[str, ...]) -> tuple[str, str]:
    say(f"{key}: suggested judgement '{suggested}' ({rule}).")
    answer = ask(f"Accept '{suggested}' for {key}? [y/n]").strip().lower()
    if answer in ("", "y", "yes"):
        return suggested, ""
    judgement = _choose(ask, f"Your judgement for {key}", options, rob.normalise)
    if judgement == suggested:
        return judgement, ""
    reason = ""
    while not reason:
        reason = ask(f"Reason for judging {key} '{judgement}' instead of '{suggested}'").strip()
    return judgement, reason


def assess(tool: str, outcome: str, timepoint: str, effect: str, ask: Ask, say: Say,
           assessor: str = "") -> dict[str, Any]:
    """Run one assessment with ``tool`` and return the ``[[rob]]`` entry."""
    if tool not in rob.TOOLS:
        raise InputError(f"unknown risk-of-bias tool '{tool}'. Use one of: {', '.join(rob.TOOLS)}.")
    t = rob.TOOLS[tool]
    entry: dict[str, Any] = {"tool": tool, "outcome": outcome}
    if timepoint:
        entry["timepoint"] = timepoint
    if assessor:
        entry["assessor"] = assessor
    answers: dict[str, str] = {}
    judgements: dict[str, str] = {}
    reasons: dict[str, str] = {}
    if tool == "mmat":
        category = _choose(ask, "MMAT category", tuple(rob.MMAT_CATEGORIES), str.lower)
        entry["category"] = category
        for q, text in (*rob.MMAT_SCREENING, *rob.MMAT_CATEGORIES[category][1]):
            answers[q] = _choose(ask, f"{q} {text}", rob.MMAT_ANSWERS, rob.normalise)
        entry["answers"] = answers
        return entry
    if tool.startswith("rob2"):
        if effect not in ("assignment", "adherence"):
            raise InputError(f"'{effect}' is not a RoB 2 effect of interest. Use assignment or adherence.")
        entry["effect"] = effect
        for domain in t.domains:
            say(f"{domain.id} {domain.label}")
            for q, text in rob.domain_questions(tool, domain.id, effect):
                if rob.applies(q, answers, effect):
                    answers[q] = _choose(ask, f"{q} {text}", rob.RESPONSES)
                else:
                    answers[q] = "NA"
            suggested, rule = rob.suggest_rob2(answers, effect, cluster=tool == "rob2-cluster")[domain.id]
            judgements[domain.id], reason = _confirm_or_override(ask, say, domain.id, suggested, rule, t.judgements)
            if reason:
                reasons[domain.id] = reason
        suggested, rule = rob.overall_rob2(judgements)
    else:
        for domain in t.domains:
            judgements[domain.id] = _choose(ask, f"{domain.id} {domain.label}", t.judgements, rob.normalise)
        if not t.has_overall:
            entry["judgements"] = judgements
            return entry
        suggested, rule = rob.overall_robins(judgements)
    judgements["overall"], reason = _confirm_or_override(ask, say, "overall", suggested, rule, t.judgements)
    if reason:
        reasons["overall"] = reason
    if answers:
        entry["answers"] = answers
    entry["judgements"] = judgements
    if reasons:
        entry["reasons"] = reasons
    return entry


def save_assessment(f: ExtractionFile, entry: dict[str, Any], confirm: Callable[[str], bool]) -> None:
    """Add ``entry`` to the file; replacing an assessment of the same tool/outcome/timepoint needs ``confirm``.

    A new assessment is appended as text, keeping the file's comments; a replacement rewrites the file.
    """
    key = (entry["tool"], entry.get("outcome", "*"), entry.get("timepoint", ""))
    existing = f.data.get("rob", []) or []
    same = [i for i, e in enumerate(existing)
            if (e.get("tool"), e.get("outcome", "*"), e.get("timepoint", "")) == key]
    if not same:
        text = f.path.read_text(encoding="utf-8")
        block = array_of_tables("rob", [entry])
        write_text(f.path, text.rstrip("\n") + "\n\n" + block, overwrite=True)
        return
    if not confirm(f"{f.path.name} already has a {key[0]} assessment for '{key[1]}'. Replace it "
                   "(the file is rewritten without its comments)?"):
        raise InputError(f"{f.path} already has that assessment and it was not replaced. Nothing was changed.")
    data = dict(f.data)
    rows = list(existing)
    rows[same[0]] = entry
    data["rob"] = rows
    write_text(f.path, dumps(data), overwrite=True)
