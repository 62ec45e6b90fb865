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
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


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
    """Registry name, e.g. PROSPERO, OSF, Campbell."""
    id: str = ""
    """Registration number once registered, e.g. CRD42026000000."""
    date: dt.date | None = None
    """Date of registration."""
    url: str = ""
    """Link to the registration record."""


class Review(Strict):
    id: Slug
    """Short id of the review (lower-case slug); usually the protocol file name."""
    title: Text
    """Full title of the review (PROSPERO item 1)."""
    question: Text
    """The review question (PROSPERO item 15)."""
    authors: list[Text] = Field(default_factory=list)
    """Review team members."""
    contact: str = ""
    """Named contact, e.g. an e-mail address."""
    start_date: dt.date | None = None
    """Anticipated or actual start date."""
    review_type: Literal["intervention", "scoping", "mixed-methods", "qualitative", "prognostic"] = "intervention"
    """Type of review: intervention, scoping, mixed-methods, qualitative or prognostic."""
    languages: list[str] = Field(default_factory=list)
    """Languages of publication eligible for inclusion."""
    keywords: list[str] = Field(default_factory=list)
    """Keywords for the registration record."""
    funding: str = ""
    """Sources of funding."""
    conflicts_of_interest: str = ""
    """Declared conflicts of interest."""
    registration: Registration = Registration()
    """Where the protocol is registered ([review.registration])."""


class PICO(Strict):
    population: Text
    """Participants/population (PRISMA item 5, PROSPERO item 19)."""
    intervention: Text
    """Intervention(s) or exposure(s)."""
    comparator: Text
    """Comparator(s) or control."""
    intervention_label: str = "Intervention"
    """Short name of the intervention arm, for forest-plot headings and "Favours ..." labels."""
    comparator_label: str = "Control"
    """Short name of the comparator arm, for forest-plot headings and "Favours ..." labels."""
    outcomes: Text
    """Outcomes in words; the structured framework is [[domains]] and [[outcomes]]."""
    study_designs: list[Text] = Field(default_factory=list)
    """Types of study to be included."""
    context: str = ""
    """Setting or context, if restricted."""


class PCC(Strict):
    population: Text
    """Population (scoping reviews)."""
    concept: Text
    """Concept."""
    context: Text
    """Context."""


class Requirement(Strict):
    """What a study's extraction must record to meet a criterion (assessed at full text by `synth run`)."""

    field: Slug
    """Id of the [[extraction.study_fields]] entry whose recorded value decides the criterion."""
    any_of: list[str] = Field(min_length=1)
    """The study meets the criterion when the field holds at least one of these values. An extraction that records the field without any of them excludes the study at full text, with this criterion as the reason; one that does not record it ("NR") leaves the study not assessable by the rule."""


class Criterion(Strict):
    """An eligibility criterion. Its ``id`` is the exclusion reason reviewers pick in screening."""

    id: Slug
    """Unique id; the exclusion reason reviewers pick in screening."""
    label: Text
    """Short label shown beside each record while screening."""
    description: str = ""
    """What the criterion excludes, in full."""
    element: Literal[
        "population", "intervention", "comparator", "outcome", "design", "setting", "publication", "other"
    ] = "other"
    """Which part of the question it applies: population, intervention, comparator, outcome, design, setting,
    publication or other."""
    stages: list[Stage] = Field(default_factory=lambda: [Stage.title_abstract, Stage.full_text])
    """Screening stages where it can be picked: title-abstract and/or full-text."""
    requires: Requirement | None = None
    """A rule that assesses the criterion at full text from what each study's extraction records."""


class Domain(Strict):
    id: Slug
    """Unique id of the outcome domain."""
    label: Text
    """Name of the domain."""
    description: str = ""
    """What the domain covers."""
    valued: bool = True
    """Whether its outcomes are ones the people the review is about value (the report lists those no study
    measured as gaps); false for e.g. service use or costs."""
    source: str = ""
    """The outcomes framework it comes from."""


class Outcome(Strict):
    id: Slug
    """Unique outcome id; extraction rows and `synth meta --outcome` refer to it."""
    label: Text
    """Name of the outcome."""
    domain: Slug
    """Id of its [[domains]] entry."""
    priority: Literal["primary", "secondary"]
    """primary or secondary."""
    measure: Measure
    """Preferred effect measure: OR, RR, RD, MD, SMD, ROM, ZCOR, COR, PLO, PR or GEN."""
    direction: Literal["lower-is-better", "higher-is-better"] = "lower-is-better"
    """Whether lower or higher values are better for people (lower-is-better, higher-is-better)."""
    timepoints: list[Text] = Field(default_factory=list)
    """Time points to extract, e.g. "6 months"."""
    primary_timepoint: Text | None = None
    """The pre-specified timepoint the analysis and the report lead with (one of timepoints); without it, the timepoint with most studies."""
    instruments: list[str] = Field(default_factory=list)
    """Accepted measurement instruments."""
    minimal_important_effect: float | None = None
    """Smallest effect that matters, on the analysis scale (log for OR/RR); used for power and information size."""
    description: str = ""
    """Definition of the outcome."""


class SearchLimits(Strict):
    date_from: dt.date | None = None
    """Earliest publication date searched."""
    date_to: dt.date | None = None
    """Latest publication date searched."""
    languages: list[str] = Field(default_factory=list)
    """Language limits, in the source's codes."""
    max_records: int | None = Field(default=None, gt=0)
    """Stop after this many records (for testing a strategy)."""


class ApiSource(Strict):
    """A bibliographic API searched live. ``query`` is sent as written, in the source's own syntax."""

    enabled: bool = True
    """Set false to keep the strategy on record without running it."""
    query: Text
    """The search string, in the source's own syntax, sent as written."""
    filter: str = ""
    """Source-specific filter (OpenAlex `filter`, Crossref `filter`)."""
    limits: SearchLimits = SearchLimits()
    """Date and language limits ([sources.<api>.limits])."""
    notes: str = ""
    """Notes for the PRISMA-S search report."""


class FileSource(Strict):
    """An export a reviewer brings from a database searched elsewhere (Ovid, EBSCO, Scopus...)."""

    path: Text
    """Export file, relative to the workspace."""
    database: Text
    """Database it was exported from, e.g. "MEDLINE (Ovid)", "CINAHL (EBSCO)"."""
    format: str = "auto"
    """File format, or auto to detect it from the content."""
    kind: Literal["database", "register", "website", "organisation", "citation", "other"] = "database"
    """PRISMA source kind: database, register, website, organisation, citation or other."""
    platform: str = ""
    """Interface or vendor, e.g. Ovid, EBSCOhost."""
    searched_on: dt.date | None = None
    """Date the search was run."""
    query: str = ""
    """The strategy as run there, for PRISMA-S."""


class Sources(Strict):
    pubmed: ApiSource | None = None
    """PubMed via NCBI E-utilities ([sources.pubmed])."""
    europepmc: ApiSource | None = None
    """Europe PMC REST API ([sources.europepmc])."""
    openalex: ApiSource | None = None
    """OpenAlex works ([sources.openalex])."""
    crossref: ApiSource | None = None
    """Crossref works ([sources.crossref])."""
    clinicaltrials: ApiSource | None = None
    """ClinicalTrials.gov v2, a register ([sources.clinicaltrials])."""
    files: list[FileSource] = Field(default_factory=list)
    """Exports from databases searched elsewhere ([[sources.files]])."""

    def api_sources(self) -> dict[str, ApiSource]:
        """The configured API sources by name, in a fixed order."""
        names = ("pubmed", "europepmc", "openalex", "crossref", "clinicaltrials")
        return {n: s for n in names if (s := getattr(self, n)) is not None}


class Highlight(Strict):
    include: list[Text] = Field(default_factory=list)
    """Terms highlighted as suggesting inclusion."""
    exclude: list[Text] = Field(default_factory=list)
    """Terms highlighted as suggesting exclusion."""


class Stopping(Strict):
    rule: Literal["hypergeometric", "knee", "random-sample", "composite", "none"] = "hypergeometric"
    """Stopping rule shown while prioritised screening and recorded by `synth screen stop`: hypergeometric
    (Callaghan & Müller-Hansen 2020, the default), knee (Cormack & Grossman 2016), random-sample (a random
    sample of the rest once a run of exclusions is reached), composite (hypergeometric and the run of
    exclusions both) or none. `synth screen simulate` measures each on labelled data."""
    recall: float = Field(default=0.95, gt=0, lt=1)
    """Recall target of the stopping rule, e.g. 0.95."""
    confidence: float = Field(default=0.95, gt=0, lt=1)
    """Confidence level of the stopping rule, e.g. 0.95."""


class Screening(Strict):
    reviewers_title_abstract: int = Field(default=2, ge=1, le=5)
    """Reviewers who screen each record at title/abstract."""
    reviewers_full_text: int = Field(default=2, ge=1, le=5)
    """Reviewers who assess each report at full text."""
    blinding: bool = True
    """Whether reviewers are blind to each other's decisions."""
    prioritisation: bool = True
    """Order records by active learning once there is an include and an exclude."""
    highlight: Highlight = Highlight()
    """Terms highlighted in titles and abstracts ([screening.highlight])."""
    stopping: Stopping = Stopping()
    """Stopping rule settings ([screening.stopping])."""


class Dedup(Strict):
    keep_conference_abstracts: bool = True
    """Keep a conference abstract and the journal article of the same study as separate records."""
    source_preference: list[str] = Field(default_factory=list)
    """Sources preferred for a cluster's representative record, in order."""


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
    """Unique field id (the key in extraction files)."""
    label: Text
    """Label shown to extractors."""
    type: FieldType
    """text, integer, number, boolean, choice, multichoice or date."""
    allowed: list[Text] = Field(default_factory=list)
    """Allowed values of a choice or multichoice field."""
    required: bool = False
    """Whether every extraction must fill it."""
    unit: str = ""
    """Unit of a number."""
    help: str = ""
    """Guidance for extractors."""


class ExtractionForm(Strict):
    study_fields: list[FormField] = Field(default_factory=list)
    """Study-level fields ([[extraction.study_fields]])."""
    outcome_fields: list[FormField] = Field(default_factory=list)
    """Extra fields on each outcome row ([[extraction.outcome_fields]]); group data columns are built in."""


RobTool = Literal["rob2", "rob2-cluster", "robins-i", "mmat", "epoc", "none"]


def _default_rob_tools() -> dict[str, RobTool]:
    return {"rct": "rob2"}


class RiskOfBias(Strict):
    tools: dict[str, RobTool] = Field(default_factory=_default_rob_tools)
    """Risk-of-bias tool per study design: rob2, rob2-cluster, robins-i, mmat, epoc or none."""


class Subgroup(Strict):
    id: Slug
    """Unique id of the subgroup analysis."""
    field: Slug
    """Study-level extraction field that defines the subgroups."""
    label: Text
    """Name of the subgroup analysis."""


class Analysis(Strict):
    estimator: Estimator = Estimator.REML
    """tau² estimator: DL, REML, PM, ML, HE, SJ, HS or EB."""
    ci_method: Literal["hksj", "hksj-adhoc", "z", "t"] = "hksj"
    """Test and CI of the pooled effect: hksj (Knapp-Hartung), hksj-adhoc, z or t."""
    prediction_interval: Literal["default", "hts", "none"] = "default"
    """Prediction interval: default (metafor's), hts (t with k-2 df) or none."""
    level: float = Field(default=95, gt=50, lt=100)
    """Confidence level in percent."""
    min_k: int = Field(default=2, ge=2)
    """Fewest studies an outcome needs to be pooled."""
    small_study_min_k: int = Field(default=10, ge=3)
    """Fewest studies for small-study (funnel) tests."""
    outcomes: list[Slug] = Field(default_factory=list)
    """Outcome ids to pool; empty means all."""
    subgroups: list[Subgroup] = Field(default_factory=list)
    """Planned subgroup analyses ([[analysis.subgroups]])."""
    exclude_high_risk_sensitivity: bool = True
    """Run a sensitivity analysis without studies at high risk of bias."""
    alpha: float = Field(default=0.05, gt=0, lt=1)
    """Significance level for power and information size."""
    power: float = Field(default=0.8, gt=0, lt=1)
    """Target power for the optimal information size."""
    gap_map_rows: str | None = None
    """Id of the study field (a choice field) whose values are the rows of the evidence-gap map, e.g. the
    intervention model; without it the map has one row of all studies."""


class Amendment(Strict):
    date: dt.date
    """Date of the amendment."""
    section: Text
    """Part of the protocol changed."""
    description: Text
    """What changed."""
    rationale: str = ""
    """Why."""


class Protocol(Strict):
    schema_version: Literal[1] = 1
    """Version of this file format (1)."""
    review: Review
    """Title, question, team and registration ([review])."""
    pico: PICO | None = None
    """The question as PICO ([pico]); or use [pcc]."""
    pcc: PCC | None = None
    """The question as population, concept, context ([pcc]) for scoping reviews."""
    criteria: list[Criterion] = Field(min_length=1)
    """Eligibility criteria ([[criteria]])."""
    domains: list[Domain] = Field(min_length=1)
    """Outcome domains of the outcomes framework ([[domains]])."""
    outcomes: list[Outcome] = Field(min_length=1)
    """Outcomes ([[outcomes]])."""
    sources: Sources
    """Information sources and search strategies ([sources.*])."""
    screening: Screening = Screening()
    """Screening settings ([screening])."""
    dedup: Dedup = Dedup()
    """Deduplication settings ([dedup])."""
    extraction: ExtractionForm = ExtractionForm()
    """The extraction form ([extraction])."""
    risk_of_bias: RiskOfBias = RiskOfBias()
    """Risk-of-bias tools ([risk_of_bias])."""
    analysis: Analysis = Analysis()
    """The analysis plan ([analysis])."""
    amendments: list[Amendment] = Field(default_factory=list)
    """Dated amendments ([[amendments]])."""

    def outcome(self, outcome_id: str) -> Outcome:
        for outcome in self.outcomes:
            if outcome.id == outcome_id:
                return outcome
        raise KeyError(outcome_id)
