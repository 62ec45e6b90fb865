"""Risk of bias: RoB 2 (with its signalling questions and the published algorithms), ROBINS-I, MMAT 2018 and
the Cochrane EPOC criteria.

Methods
-------
* RoB 2: Sterne JAC et al. RoB 2: a revised tool for assessing risk of bias in randomised trials. BMJ
  2019;366:l4898, and Higgins JPT et al., *Revised Cochrane risk-of-bias tool for randomized trials (RoB 2)*,
  full guidance, 22 Aug 2019: five domains, answers Y/PY/PN/N/NI (NA where a question does not apply), the
  algorithm of each domain maps answers to Low / Some concerns / High; overall = Low if every domain is
  Low, High if any is High, otherwise Some concerns (reviewers may judge several Some concerns as High: that
  is an override with a reason). Domain 2 is for the effect of assignment (``effect = "assignment"``, default)
  or adhering (``"adherence"``). ``rob2-cluster`` adds domain D1b (Eldridge et al. 2021 guidance for cluster
  trials).
* ROBINS-I: Sterne JAC et al. BMJ 2016;355:i4919: seven domains judged Low / Moderate / Serious / Critical /
  No information; overall = the most severe domain; No information when any domain lacks information and none
  is Serious or Critical.
* MMAT 2018: Hong QN et al. Educ Inf 2018;34:285-91: two screening questions then five criteria for the
  study's category, answered Yes / No / Can't tell; no overall score (its authors discourage one).
* EPOC: Cochrane EPOC *Suggested risk of bias criteria for EPOC reviews* (2017): nine criteria, each Low /
  High / Unclear; no overall judgement.

A reviewer's judgement always wins; when it differs from the algorithm's suggestion it needs a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from synth.wording import count

YES = frozenset({"Y", "PY"})
NO = frozenset({"N", "PN"})
NI = "NI"
RESPONSES = ("Y", "PY", "PN", "N", "NI", "NA")


@dataclass(frozen=True)
class Domain:
    id: str
    label: str
    questions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Tool:
    name: str
    label: str
    domains: tuple[Domain, ...]
    judgements: tuple[str, ...]
    answers: tuple[str, ...]
    has_overall: bool


_D1 = Domain("D1", "Randomisation process", (
    ("1.1", "Was the allocation sequence random?"),
    ("1.2", "Was the allocation sequence concealed until participants were enrolled and assigned to interventions?"),
    ("1.3", "Did baseline differences between intervention groups suggest a problem with the randomisation process?"),
))
_D1B = Domain("D1b", "Timing of identification and recruitment of participants (cluster trials)", (
    ("1b.1", "Were all the individual participants identified and recruited (if appropriate) before randomisation of clusters?"),
    ("1b.2", "If N/PN/NI to 1b.1: Is it likely that selection of individual participants was affected by knowledge of the intervention assigned to the cluster?"),
    ("1b.3", "Were there baseline imbalances that suggest differential identification or recruitment of individual participants between intervention groups?"),
))
_D2 = Domain("D2", "Deviations from intended interventions", (
    ("2.1", "Were participants aware of their assigned intervention during the trial?"),
    ("2.2", "Were carers and people delivering the interventions aware of participants' assigned intervention during the trial?"),
    ("2.3", "If Y/PY/NI to 2.1 or 2.2: Were there deviations from the intended intervention that arose because of the trial context?"),
    ("2.4", "If Y/PY to 2.3: Were these deviations likely to have affected the outcome?"),
    ("2.5", "If Y/PY/NI to 2.4: Were these deviations from intended intervention balanced between groups?"),
    ("2.6", "Was an appropriate analysis used to estimate the effect of assignment to intervention?"),
    ("2.7", "If N/PN/NI to 2.6: Was there potential for a substantial impact (on the result) of the failure to analyse participants in the group to which they were randomised?"),
))
_D2_ADHERENCE_QUESTIONS = (
    ("2.1", "Were participants aware of their assigned intervention during the trial?"),
    ("2.2", "Were carers and people delivering the interventions aware of participants' assigned intervention during the trial?"),
    ("2.3", "If applicable, if Y/PY/NI to 2.1 or 2.2: Were important non-protocol interventions balanced across intervention groups?"),
    ("2.4", "If applicable: Were there failures in implementing the intervention that could have affected the outcome?"),
    ("2.5", "If applicable: Was there non-adherence to the assigned intervention regimen that could have affected participants' outcomes?"),
    ("2.6", "If N/PN/NI to 2.3, or Y/PY/NI to 2.4 or 2.5: Was an appropriate analysis used to estimate the effect of adhering to the intervention?"),
)
_D3 = Domain("D3", "Missing outcome data", (
    ("3.1", "Were data for this outcome available for all, or nearly all, participants randomised?"),
    ("3.2", "If N/PN/NI to 3.1: Is there evidence that the result was not biased by missing outcome data?"),
    ("3.3", "If N/PN to 3.2: Could missingness in the outcome depend on its true value?"),
    ("3.4", "If Y/PY/NI to 3.3: Is it likely that missingness in the outcome depended on its true value?"),
))
_D4 = Domain("D4", "Measurement of the outcome", (
    ("4.1", "Was the method of measuring the outcome inappropriate?"),
    ("4.2", "Could measurement or ascertainment of the outcome have differed between intervention groups?"),
    ("4.3", "If N/PN/NI to 4.1 and 4.2: Were outcome assessors aware of the intervention received by study participants?"),
    ("4.4", "If Y/PY/NI to 4.3: Could assessment of the outcome have been influenced by knowledge of intervention received?"),
    ("4.5", "If Y/PY/NI to 4.4: Is it likely that assessment of the outcome was influenced by knowledge of intervention received?"),
))
_D5 = Domain("D5", "Selection of the reported result", (
    ("5.1", "Were the data that produced this result analysed in accordance with a pre-specified analysis plan that was finalised before unblinded outcome data were available for analysis?"),
    ("5.2", "Is the numerical result being assessed likely to have been selected, on the basis of the results, from multiple eligible outcome measurements (e.g. scales, definitions, time points) within the outcome domain?"),
    ("5.3", "Is the numerical result being assessed likely to have been selected, on the basis of the results, from multiple eligible analyses of the data?"),
))

ROB2_JUDGEMENTS = ("low", "some-concerns", "high")
ROBINS_JUDGEMENTS = ("low", "moderate", "serious", "critical", "no-information")
MMAT_ANSWERS = ("yes", "no", "cant-tell")
EPOC_JUDGEMENTS = ("low", "high", "unclear")

MMAT_SCREENING = (
    ("S1", "Are there clear research questions?"),
    ("S2", "Do the collected data allow to address the research questions?"),
)
MMAT_CATEGORIES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "qualitative": ("Qualitative", (
        ("1.1", "Is the qualitative approach appropriate to answer the research question?"),
        ("1.2", "Are the qualitative data collection methods adequate to address the research question?"),
        ("1.3", "Are the findings adequately derived from the data?"),
        ("1.4", "Is the interpretation of results sufficiently substantiated by data?"),
        ("1.5", "Is there coherence between qualitative data sources, collection, analysis and interpretation?"),
    )),
    "rct": ("Quantitative randomised controlled trials", (
        ("2.1", "Is randomization appropriately performed?"),
        ("2.2", "Are the groups comparable at baseline?"),
        ("2.3", "Are there complete outcome data?"),
        ("2.4", "Are outcome assessors blinded to the intervention provided?"),
        ("2.5", "Did the participants adhere to the assigned intervention?"),
    )),
    "nonrandomised": ("Quantitative non-randomised", (
        ("3.1", "Are the participants representative of the target population?"),
        ("3.2", "Are measurements appropriate regarding both the outcome and intervention (or exposure)?"),
        ("3.3", "Are there complete outcome data?"),
        ("3.4", "Are the confounders accounted for in the design and analysis?"),
        ("3.5", "During the study period, is the intervention administered (or exposure occurred) as intended?"),
    )),
    "descriptive": ("Quantitative descriptive", (
        ("4.1", "Is the sampling strategy relevant to address the research question?"),
        ("4.2", "Is the sample representative of the target population?"),
        ("4.3", "Are the measurements appropriate?"),
        ("4.4", "Is the risk of nonresponse bias low?"),
        ("4.5", "Is the statistical analysis appropriate to answer the research question?"),
    )),
    "mixed": ("Mixed methods", (
        ("5.1", "Is there an adequate rationale for using a mixed methods design to address the research question?"),
        ("5.2", "Are the different components of the study effectively integrated to answer the research question?"),
        ("5.3", "Are the outputs of the integration of qualitative and quantitative components adequately interpreted?"),
        ("5.4", "Are divergences and inconsistencies between quantitative and qualitative results adequately addressed?"),
        ("5.5", "Do the different components of the study adhere to the quality criteria of each tradition of the methods involved?"),
    )),
}

#: RoB 2's effects of interest: of assignment to the intervention, or of adhering to it
EFFECTS = ("assignment", "adherence")

TOOLS: dict[str, Tool] = {
    "rob2": Tool("rob2", "RoB 2", (_D1, _D2, _D3, _D4, _D5), ROB2_JUDGEMENTS, RESPONSES, True),
    "rob2-cluster": Tool("rob2-cluster", "RoB 2 (cluster-randomised)", (_D1, _D1B, _D2, _D3, _D4, _D5),
                         ROB2_JUDGEMENTS, RESPONSES, True),
    "robins-i": Tool("robins-i", "ROBINS-I", tuple(Domain(f"D{i}", label) for i, label in enumerate((
        "Confounding", "Selection of participants", "Classification of interventions",
        "Deviations from intended interventions", "Missing data", "Measurement of outcomes",
        "Selection of the reported result"), start=1)), ROBINS_JUDGEMENTS, (), True),
    "mmat": Tool("mmat", "MMAT 2018", (), (), MMAT_ANSWERS, False),
    "epoc": Tool("epoc", "EPOC risk of bias", tuple(Domain(f"E{i}", label) for i, label in enumerate((
        "Random sequence generation", "Allocation concealment", "Baseline outcome measurements similar",
        "Baseline characteristics similar", "Incomplete outcome data",
        "Knowledge of the allocated interventions adequately prevented", "Protection against contamination",
        "Selective outcome reporting", "Other risks of bias"), start=1)), EPOC_JUDGEMENTS, (), False),
}

_ALIASES = {
    "low risk": "low", "low": "low", "some concerns": "some-concerns", "some-concerns": "some-concerns",
    "some_concerns": "some-concerns", "high risk": "high", "high": "high", "moderate": "moderate",
    "serious": "serious", "critical": "critical", "no information": "no-information",
    "no-information": "no-information", "ni": "no-information", "unclear": "unclear",
    "unclear risk": "unclear", "yes": "yes", "no": "no", "can't tell": "cant-tell", "cant-tell": "cant-tell",
    "cant tell": "cant-tell",
}


def normalise(value: str) -> str:
    """Canonical spelling of a judgement or MMAT answer ("Some concerns" -> "some-concerns")."""
    return _ALIASES.get(value.strip().lower(), value.strip().lower())


def rob_class(value: object) -> str:
    """The class of an overall judgement across tools: ``low``, ``some-concerns`` (RoB 2 Some concerns, ROBINS-I
    Moderate), ``high`` (High, Serious, Critical) or ``unknown`` (no information, unclear, not reported, blank)."""
    text = str(value or "").strip().lower().replace("_", "-").replace(" ", "-")
    if not text or text in ("nr", "none", "no-information", "unclear"):
        return "unknown"
    if text in ("high", "serious", "critical") or text.startswith("high"):
        return "high"
    if "some" in text or text in ("moderate", "medium"):
        return "some-concerns"
    if text.startswith("low"):
        return "low"
    return "unknown"


SUMMARY_RULES = {
    "rob2": "RoB 2: the tool's own overall judgement (its worst domain, by the published algorithm)",
    "rob2-cluster": "RoB 2 for cluster-randomised trials: the tool's own overall judgement",
    "robins-i": "ROBINS-I: the tool's own overall judgement (serious and critical count as high)",
    "epoc": "EPOC criteria: the tool has no overall judgement, so synth counts a study as high risk when any "
            "criterion is high, low when every criterion judged is low, otherwise some concerns (unclear), as the "
            "Cochrane Handbook 5.1 (table 8.7.a) summarises domain judgements",
    "mmat": "MMAT 2018: the tool gives no overall score (its authors discourage one), so synth counts a study as "
            "high risk when a screening question or one of its five criteria is not met, low when all five are "
            "met, otherwise some concerns (can't tell)",
}
"""How each tool's assessment becomes the overall class GRADE's risk-of-bias domain uses (said in the report)."""


def summary_judgement(entry: dict[str, Any]) -> str | None:
    """The overall class (``low``, ``some-concerns``, ``high``) of an EPOC or MMAT assessment by the rule of
    :data:`SUMMARY_RULES`, for tools without an overall judgement of their own; None for other tools or when
    nothing was judged."""
    tool = str(entry.get("tool") or "")
    if tool == "epoc":
        vals = [normalise(str(v)) for d, v in (entry.get("judgements") or {}).items() if d != "overall" and v]
        if not vals:
            return None
        return "high" if "high" in vals else "low" if all(v == "low" for v in vals) else "some-concerns"
    if tool == "mmat":
        answers = {k: normalise(str(v)) for k, v in (entry.get("answers") or {}).items() if v}
        category = MMAT_CATEGORIES.get(str(entry.get("category") or ""))
        criteria = [answers[q] for q, _ in category[1] if q in answers] if category else []
        screening = [answers[q] for q, _ in MMAT_SCREENING if q in answers]
        if not criteria and not screening:
            return None
        if "no" in screening or "no" in criteria:
            return "high"
        return "low" if category and len(criteria) == len(category[1]) and all(a == "yes" for a in criteria) \
            else "some-concerns"
    return None


def domain_questions(tool: str, domain: str, effect: str = "assignment") -> tuple[tuple[str, str], ...]:
    if tool.startswith("rob2") and domain == "D2" and effect == "adherence":
        return _D2_ADHERENCE_QUESTIONS
    for d in TOOLS[tool].domains:
        if d.id == domain:
            return d.questions
    raise KeyError(domain)


def _a(answers: Mapping[str, str], q: str) -> str:
    return str(answers.get(q, NI)).upper()


def _d1(a: Mapping[str, str]) -> tuple[str, str]:
    q1, q2, q3 = _a(a, "1.1"), _a(a, "1.2"), _a(a, "1.3")
    if q2 in NO:
        return "high", "1.2 N/PN (allocation not concealed)"
    if q2 == NI:
        return ("high", "1.2 NI and 1.3 Y/PY") if q3 in YES else ("some-concerns", "1.2 NI and 1.3 N/PN/NI")
    if q2 in YES:
        if q3 in YES:
            return "some-concerns", "1.2 Y/PY but 1.3 Y/PY (baseline imbalance)"
        if q1 in NO:
            return "some-concerns", "1.2 Y/PY but 1.1 N/PN (sequence not random)"
        return "low", "1.1 Y/PY/NI, 1.2 Y/PY, 1.3 N/PN/NI"
    return "some-concerns", "1.2 unanswered"


def _d1b(a: Mapping[str, str]) -> tuple[str, str]:
    q1, q2, q3 = _a(a, "1b.1"), _a(a, "1b.2"), _a(a, "1b.3")
    if q1 in YES or q2 in NO:
        if q3 in YES:
            return "some-concerns", "recruitment before randomisation or unaffected, but 1b.3 Y/PY"
        return "low", "1b.1 Y/PY or 1b.2 N/PN, and 1b.3 N/PN/NI"
    if q2 in YES:
        return "high", "1b.2 Y/PY (selection affected by knowledge of allocation)"
    return ("high", "1b.2 NI and 1b.3 Y/PY") if q3 in YES else ("some-concerns", "1b.2 NI and 1b.3 N/PN/NI")


def _d2_assignment(a: Mapping[str, str]) -> tuple[str, str]:
    q = {k: _a(a, f"2.{k}") for k in range(1, 8)}
    if q[1] in NO and q[2] in NO:
        part1, why1 = "low", "participants and carers unaware"
    elif q[3] in NO:
        part1, why1 = "low", "no deviations arising from the trial context (2.3 N/PN)"
    elif q[3] == NI:
        part1, why1 = "some-concerns", "2.3 NI"
    elif q[4] in NO:
        part1, why1 = "some-concerns", "deviations unlikely to have affected the outcome (2.4 N/PN)"
    elif q[5] in YES:
        part1, why1 = "some-concerns", "deviations balanced (2.5 Y/PY)"
    else:
        part1, why1 = "high", "deviations affecting the outcome, not balanced (2.5 N/PN/NI)"
    if q[6] in YES:
        part2, why2 = "low", "appropriate analysis (2.6 Y/PY)"
    elif q[7] in NO:
        part2, why2 = "some-concerns", "2.6 N/PN/NI but no substantial impact (2.7 N/PN)"
    else:
        part2, why2 = "high", "2.6 N/PN/NI and potential substantial impact (2.7 Y/PY/NI)"
    worst = _worst_rob2([part1, part2])
    return worst, f"part 1 {part1}: {why1}; part 2 {part2}: {why2}"


def _d2_adherence(a: Mapping[str, str]) -> tuple[str, str]:
    q = {k: _a(a, f"2.{k}") for k in range(1, 7)}
    aware = not (q[1] in NO and q[2] in NO)
    cointerventions_bad = aware and q[3] in (NO | {NI})
    failures = q[4] in (YES | {NI}) or q[5] in (YES | {NI})
    if not cointerventions_bad and not failures:
        return "low", "co-interventions balanced or not applicable, no failures or non-adherence"
    if q[6] in YES:
        return "some-concerns", "problems present but appropriate analysis (2.6 Y/PY)"
    return "high", "problems present and no appropriate analysis (2.6 N/PN/NI)"


def _d3(a: Mapping[str, str]) -> tuple[str, str]:
    q1, q2, q3, q4 = (_a(a, f"3.{k}") for k in range(1, 5))
    if q1 in YES:
        return "low", "data for (nearly) all participants (3.1 Y/PY)"
    if q2 in YES:
        return "low", "evidence that the result was not biased (3.2 Y/PY)"
    if q3 in NO:
        return "low", "missingness could not depend on the true value (3.3 N/PN)"
    if q4 in NO:
        return "some-concerns", "missingness could, but is unlikely to, depend on the true value (3.4 N/PN)"
    return "high", "missingness likely depends on the true value (3.4 Y/PY/NI)"


def _d4(a: Mapping[str, str]) -> tuple[str, str]:
    q1, q2, q3, q4, q5 = (_a(a, f"4.{k}") for k in range(1, 6))
    if q1 in YES:
        return "high", "inappropriate measurement (4.1 Y/PY)"
    if q2 in YES:
        return "high", "measurement could differ between groups (4.2 Y/PY)"
    if q3 in NO or q4 in NO:
        if q2 == NI:
            return "some-concerns", "4.2 NI; otherwise low"
        return "low", "assessors unaware (4.3 N/PN) or assessment not influenced (4.4 N/PN)"
    if q5 in NO:
        return "some-concerns", "assessment could be, but unlikely was, influenced (4.5 N/PN)"
    return "high", "assessment likely influenced by knowledge of the intervention (4.5 Y/PY/NI)"


def _d5(a: Mapping[str, str]) -> tuple[str, str]:
    q1, q2, q3 = (_a(a, f"5.{k}") for k in range(1, 4))
    if q2 in YES or q3 in YES:
        return "high", "result likely selected (5.2 or 5.3 Y/PY)"
    if q2 == NI or q3 == NI:
        return "some-concerns", "5.2 or 5.3 NI"
    if q1 in YES:
        return "low", "pre-specified plan (5.1 Y/PY), no selection (5.2, 5.3 N/PN)"
    return "some-concerns", "no pre-specified plan (5.1 N/PN/NI), no selection (5.2, 5.3 N/PN)"


_RANK = {"low": 0, "some-concerns": 1, "high": 2}


def _worst_rob2(values: list[str]) -> str:
    return max(values, key=lambda v: _RANK.get(v, 1))


def _answered(answers: Mapping[str, str], questions: tuple[tuple[str, str], ...]) -> bool:
    return any(q in answers for q, _ in questions)


def suggest_rob2(answers: Mapping[str, str], effect: str = "assignment",
                 cluster: bool = False) -> dict[str, tuple[str, str]]:
    """Suggested RoB 2 judgement and the rule that produced it, per domain with at least one answer."""
    rules = {"D1": _d1, "D1b": _d1b, "D2": _d2_adherence if effect == "adherence" else _d2_assignment,
             "D3": _d3, "D4": _d4, "D5": _d5}
    tool = "rob2-cluster" if cluster else "rob2"
    out: dict[str, tuple[str, str]] = {}
    for domain in TOOLS[tool].domains:
        if _answered(answers, domain_questions(tool, domain.id, effect)):
            out[domain.id] = rules[domain.id](answers)
    return out


def overall_rob2(domains: Mapping[str, str]) -> tuple[str, str]:
    """Overall RoB 2 judgement from the domain judgements (Sterne et al. 2019, Table 2)."""
    values = list(domains.values())
    if any(v == "high" for v in values):
        return "high", "at least one domain at high risk"
    concerns = sum(v == "some-concerns" for v in values)
    if concerns:
        hint = "; several domains with some concerns may justify High (override with a reason)" if concerns > 1 else ""
        return "some-concerns", f"{count(concerns, 'domain')} with some concerns, none high{hint}"
    return "low", "every domain at low risk"


_ROBINS_ORDER = ("low", "moderate", "serious", "critical")


def overall_robins(domains: Mapping[str, str]) -> tuple[str, str]:
    """Overall ROBINS-I judgement: the most severe domain (Sterne et al. 2016, Table 2)."""
    values = list(domains.values())
    ranked = [v for v in values if v in _ROBINS_ORDER]
    worst = max(ranked, key=_ROBINS_ORDER.index) if ranked else None
    if worst in ("serious", "critical"):
        return worst, f"at least one domain at {worst} risk"
    if "no-information" in values:
        return "no-information", "no information in at least one domain and none serious or critical"
    if worst is None:
        return "no-information", "no domain judged"
    return worst, "the most severe domain judgement"


def suggest(tool: str, answers: Mapping[str, str], judgements: Mapping[str, str],
            effect: str = "assignment") -> dict[str, tuple[str, str]]:
    """Suggested judgements (domain ids and ``overall``) for an assessment, each with its rule."""
    out: dict[str, tuple[str, str]] = {}
    if tool in ("rob2", "rob2-cluster"):
        out.update(suggest_rob2(answers, effect, cluster=tool == "rob2-cluster"))
        domains = {d.id: judgements.get(d.id) or out.get(d.id, ("", ""))[0] for d in TOOLS[tool].domains}
        if all(domains.values()):
            out["overall"] = overall_rob2(domains)
    elif tool == "robins-i":
        domains = {d.id: judgements.get(d.id, "") for d in TOOLS[tool].domains}
        if all(domains.values()):
            out["overall"] = overall_robins(domains)
    return out


def _any(a: Mapping[str, str], qs: tuple[str, ...], values: frozenset[str]) -> bool:
    return any(_a(a, q) in values for q in qs)


_YES_NI = YES | {NI}
_NO_NI = NO | {NI}

#: When each conditional RoB 2 signalling question applies (the "If ... to ..." of the guidance).
Rule = Callable[[Mapping[str, str]], bool]
CONDITIONS: dict[str, dict[str, Rule]] = {
    "assignment": {
        "1b.2": lambda a: _a(a, "1b.1") in _NO_NI,
        "2.3": lambda a: _any(a, ("2.1", "2.2"), _YES_NI),
        "2.4": lambda a: _a(a, "2.3") in YES,
        "2.5": lambda a: _a(a, "2.4") in _YES_NI,
        "2.7": lambda a: _a(a, "2.6") in _NO_NI,
        "3.2": lambda a: _a(a, "3.1") in _NO_NI,
        "3.3": lambda a: _a(a, "3.2") in NO,
        "3.4": lambda a: _a(a, "3.3") in _YES_NI,
        "4.3": lambda a: _a(a, "4.1") in _NO_NI and _a(a, "4.2") in _NO_NI,
        "4.4": lambda a: _a(a, "4.3") in _YES_NI,
        "4.5": lambda a: _a(a, "4.4") in _YES_NI,
    },
}
CONDITIONS["adherence"] = {
    **{k: v for k, v in CONDITIONS["assignment"].items() if not k.startswith("2.")},
    "2.3": lambda a: _any(a, ("2.1", "2.2"), _YES_NI),
    "2.6": lambda a: _a(a, "2.3") in _NO_NI or _any(a, ("2.4", "2.5"), _YES_NI),
}


def applies(question: str, answers: Mapping[str, str], effect: str = "assignment") -> bool:
    """Whether a RoB 2 signalling question applies given the earlier answers (otherwise it is NA)."""
    rule = CONDITIONS.get(effect, CONDITIONS["assignment"]).get(question)
    return True if rule is None else bool(rule(answers))
