"""The review protocol as a validated pydantic model.

Modelled on PROSPERO's registration fields and PRISMA 2020 items 4-13: question and PICO/PCC, eligibility
criteria (whose ids become the exclusion reasons in screening), the outcomes framework, information sources
with their search strings, screening settings, the extraction form, risk-of-bias tools, the analysis plan and
dated amendments. Cross-references (outcome ids, field ids) are checked in :mod:`synth.protocol.checks`.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$", min_length=1, max_length=80)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Stage(StrEnum):
    title_abstract = "title-abstract"
    full_text = "full-text"


class Measure(StrEnum):
    """Effect measures, named as in metafor's ``escalc``."""

    OR = "OR"
    RR = "RR"
    RD = "RD"
    MD = "MD"
    SMD = "SMD"
    ROM = "ROM"
    ZCOR = "ZCOR"
    COR = "COR"
    PLO = "PLO"
    PR = "PR"
    GEN = "GEN"


class Estimator(StrEnum):
    DL = "DL"
    REML = "REML"
    PM = "PM"
    ML = "ML"
    HE = "HE"
    SJ = "SJ"
    HS = "HS"
    EB = "EB"


class Registration(Strict):
    registry: str = ""
    id: str = ""
    date: dt.date | None = None
    url: str = ""


class Review(Strict):
    id: Slug
    title: Text
    question: Text
    authors: list[Text] = Field(default_factory=list)
    contact: str = ""
    start_date: dt.date | None = None
    review_type: Literal["intervention", "scoping", "mixed-methods", "qualitative", "prognostic"] = "intervention"
    languages: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    funding: str = ""
    conflicts_of_interest: str = ""
    registration: Registration = Registration()


class PICO(Strict):
    population: Text
    intervention: Text
    comparator: Text
    outcomes: Text
    study_designs: list[Text] = Field(default_factory=list)
    context: str = ""


class PCC(Strict):
    population: Text
    concept: Text
    context: Text


class Criterion(Strict):
    """An eligibility criterion. Its ``id`` is the exclusion reason reviewers pick in screening."""

    id: Slug
    label: Text
    description: str = ""
    element: Literal[
        "population", "intervention", "comparator", "outcome", "design", "setting", "publication", "other"
    ] = "other"
    stages: list[Stage] = Field(default_factory=lambda: [Stage.title_abstract, Stage.full_text])


class Domain(Strict):
    id: Slug
    label: Text
    description: str = ""
    source: str = ""


class Outcome(Strict):
    id: Slug
    label: Text
    domain: Slug
    priority: Literal["primary", "secondary"]
    measure: Measure
    direction: Literal["lower-is-better", "higher-is-better"] = "lower-is-better"
    timepoints: list[Text] = Field(default_factory=list)
    instruments: list[str] = Field(default_factory=list)
    minimal_important_effect: float | None = Field(
        default=None, description="Smallest effect that matters, on the analysis scale (log for OR/RR)."
    )
    description: str = ""


class SearchLimits(Strict):
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    languages: list[str] = Field(default_factory=list)
    max_records: int | None = Field(default=None, gt=0)


class ApiSource(Strict):
    """A bibliographic API searched live. ``query`` is sent as written, in the source's own syntax."""

    enabled: bool = True
    query: Text
    filter: str = ""
    limits: SearchLimits = SearchLimits()
    notes: str = ""


class FileSource(Strict):
    """An export a reviewer brings from a database searched elsewhere (Ovid, EBSCO, Scopus...)."""

    path: Text
    database: Text
    format: str = "auto"
    kind: Literal["database", "register", "website", "organisation", "citation", "other"] = "database"
    platform: str = ""
    searched_on: dt.date | None = None
    query: str = ""


class Sources(Strict):
    pubmed: ApiSource | None = None
    europepmc: ApiSource | None = None
    openalex: ApiSource | None = None
    crossref: ApiSource | None = None
    clinicaltrials: ApiSource | None = None
    files: list[FileSource] = Field(default_factory=list)

    def api_sources(self) -> dict[str, ApiSource]:
        """The configured API sources by name, in a fixed order."""
        names = ("pubmed", "europepmc", "openalex", "crossref", "clinicaltrials")
        return {n: s for n in names if (s := getattr(self, n)) is not None}


class Highlight(Strict):
    include: list[Text] = Field(default_factory=list)
    exclude: list[Text] = Field(default_factory=list)


class Stopping(Strict):
    rule: Literal["hypergeometric", "none"] = "hypergeometric"
    recall: float = Field(default=0.95, gt=0, lt=1)
    confidence: float = Field(default=0.95, gt=0, lt=1)


class Screening(Strict):
    reviewers_title_abstract: int = Field(default=2, ge=1, le=5)
    reviewers_full_text: int = Field(default=2, ge=1, le=5)
    blinding: bool = True
    prioritisation: bool = True
    highlight: Highlight = Highlight()
    stopping: Stopping = Stopping()


class Dedup(Strict):
    keep_conference_abstracts: bool = True
    source_preference: list[str] = Field(default_factory=list)


class FieldType(StrEnum):
    text = "text"
    integer = "integer"
    number = "number"
    boolean = "boolean"
    choice = "choice"
    multichoice = "multichoice"
    date = "date"


class FormField(Strict):
    id: Slug
    label: Text
    type: FieldType
    allowed: list[Text] = Field(default_factory=list)
    required: bool = False
    unit: str = ""
    help: str = ""


class ExtractionForm(Strict):
    study_fields: list[FormField] = Field(default_factory=list)
    outcome_fields: list[FormField] = Field(default_factory=list)


RobTool = Literal["rob2", "rob2-cluster", "robins-i", "mmat", "epoc", "none"]


class RiskOfBias(Strict):
    tools: dict[str, RobTool] = Field(default_factory=lambda: {"rct": "rob2"})


class Subgroup(Strict):
    id: Slug
    field: Slug
    label: Text


class Analysis(Strict):
    estimator: Estimator = Estimator.REML
    ci_method: Literal["hksj", "hksj-adhoc", "z", "t"] = "hksj"
    prediction_interval: Literal["default", "hts", "none"] = "default"
    level: float = Field(default=95, gt=50, lt=100)
    min_k: int = Field(default=2, ge=2)
    small_study_min_k: int = Field(default=10, ge=3)
    outcomes: list[Slug] = Field(default_factory=list, description="Outcome ids to pool; empty means all.")
    subgroups: list[Subgroup] = Field(default_factory=list)
    exclude_high_risk_sensitivity: bool = True
    alpha: float = Field(default=0.05, gt=0, lt=1)
    power: float = Field(default=0.8, gt=0, lt=1)


class Amendment(Strict):
    date: dt.date
    section: Text
    description: Text
    rationale: str = ""


class Protocol(Strict):
    schema_version: Literal[1] = 1
    review: Review
    pico: PICO | None = None
    pcc: PCC | None = None
    criteria: list[Criterion] = Field(min_length=1)
    domains: list[Domain] = Field(min_length=1)
    outcomes: list[Outcome] = Field(min_length=1)
    sources: Sources
    screening: Screening = Screening()
    dedup: Dedup = Dedup()
    extraction: ExtractionForm = ExtractionForm()
    risk_of_bias: RiskOfBias = RiskOfBias()
    analysis: Analysis = Analysis()
    amendments: list[Amendment] = Field(default_factory=list)

    def outcome(self, outcome_id: str) -> Outcome:
        for outcome in self.outcomes:
            if outcome.id == outcome_id:
                return outcome
        raise KeyError(outcome_id)

    def criterion_ids(self) -> list[str]:
        return [c.id for c in self.criteria]
