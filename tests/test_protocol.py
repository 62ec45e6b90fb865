"""Protocol as code: the flagship protocol validates; every class of error is reported, all at once."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from typer.testing import CliRunner

from synth.cli.app import app
from synth.errors import ProtocolError
from synth.protocol import load_protocol, parse_protocol
from synth.protocol.export import to_markdown

REPO = Path(__file__).resolve().parent.parent
FLAGSHIP = REPO / "protocols" / "partnership-outcomes.toml"
runner = CliRunner()


def flagship_data() -> dict[str, Any]:
    return tomllib.loads(FLAGSHIP.read_text("utf-8"))


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ProtocolError) as info:
        parse_protocol(data, "p.toml")
    return info.value.problems


def test_flagship_protocol_is_valid() -> None:
    p = load_protocol(FLAGSHIP)
    assert p.review.id == "partnership-outcomes"
    assert {"residential-care", "hospital-admission", "quality-of-life", "carer-wellbeing"} <= {o.id for o in p.outcomes}
    assert set(p.sources.api_sources()) == {"pubmed", "europepmc", "openalex", "crossref", "clinicaltrials"}
    domains = {d.id for d in p.domains}
    assert all(o.domain in domains for o in p.outcomes)


def test_flagship_outcome_framework_uses_published_items(domain_dir: Path) -> None:
    """The user-defined outcome domains carry the Talking Points wording from the shared outcomes framework."""
    import csv

    with (domain_dir / "outcomes_frameworks_items.csv").open(encoding="utf-8") as f:
        items = [row for row in csv.DictReader(f) if row["framework"].startswith("Talking Points") and
                 row["framework"].endswith("service users")]
    p = load_protocol(FLAGSHIP)
    descriptions = " ".join(d.description.lower() for d in p.domains)
    found = [row["item"] for row in items if row["item"].split("/")[0].lower() in descriptions]
    assert len(found) >= 10, found


def test_missing_field() -> None:
    data = flagship_data()
    del data["review"]["title"]
    assert problems(data) == ['review.title: required field is missing. Add title = ... under [review].']


def test_unknown_outcome_in_analysis_plan() -> None:
    data = flagship_data()
    data["analysis"]["outcomes"] = ["mortality", "happiness"]
    [problem] = problems(data)
    assert problem.startswith("analysis.outcomes[1]: unknown outcome id 'happiness'. Use one of the [[outcomes]] ids (")


def test_duplicate_criterion_ids() -> None:
    data = flagship_data()
    data["criteria"][2]["id"] = "population"
    assert problems(data) == [
        "criteria[2].id: duplicate id 'population' (also criteria[0]). Give each entry a unique id."
    ]


def test_source_with_no_query() -> None:
    data = flagship_data()
    del data["sources"]["pubmed"]["query"]
    data["sources"]["crossref"]["query"] = "   "
    assert problems(data) == [
        "sources.pubmed.query: required field is missing. Add query = ... under [sources.pubmed].",
        "sources.crossref.query: must not be empty. Write the text in.",
    ]


def test_wrong_types() -> None:
    data = flagship_data()
    data["screening"]["reviewers_title_abstract"] = "two"
    data["outcomes"][0]["measure"] = "HR"
    found = problems(data)
    assert len(found) == 2
    assert found[0].startswith("outcomes[0].measure: Input should be 'OR', 'RR'")
    assert found[0].endswith("(got 'HR'). Correct the value.")
    assert found[1].startswith("screening.reviewers_title_abstract: Input should be a valid integer")


def test_every_problem_at_once() -> None:
    data = flagship_data()
    del data["review"]["title"]
    data["criteria"][1]["id"] = "population"
    data["analysis"]["outcomes"] = ["nope"]
    data["sources"]["pubmed"]["query"] = ""
    data["outcomes"][0]["domain"] = "nowhere"
    data["extraction"]["study_fields"][0]["allowed"] = []
    data["unknown_section"] = {}
    found = problems(data)
    paths = [p.split(":")[0] for p in found]
    assert paths == [
        "review.title", "sources.pubmed.query", "unknown_section", "criteria[1].id", "outcomes[0].domain",
        "analysis.outcomes[0]", "extraction.study_fields[0].allowed",
    ]


def test_toml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "protocols").mkdir()
    path = tmp_path / "protocols" / "bad.toml"
    path.write_text('[review]\nid = "x"\ntitle = "unterminated\n', encoding="utf-8")
    result = runner.invoke(app, ["--workspace", str(tmp_path), "protocol", "validate"])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {path.resolve()}: invalid TOML: ")  # one problem, one line
    assert len(result.output.strip().splitlines()) == 1
    assert "(at line 3, column 22)" in result.output


def test_validate_cli_lists_every_problem(tmp_path: Path) -> None:
    data = flagship_data()
    del data["review"]["question"]
    data["criteria"][0]["id"] = "Bad Id"
    (tmp_path / "protocols").mkdir()
    path = tmp_path / "protocols" / "x.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    result = runner.invoke(app, ["--workspace", str(tmp_path), "protocol", "validate"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: {path.resolve()}: 2 problems in the protocol",
        "  review.question: required field is missing. Add question = ... under [review].",
        "  criteria[0].id: 'Bad Id' is not a valid id. Use lower-case letters, digits, '-', '_' or '.', "
        "starting with a letter or digit.",
    ]
    assert "Traceback" not in result.output


def test_pico_or_pcc_required() -> None:
    data = flagship_data()
    del data["pico"]
    assert problems(data) == [
        "pico: the review question needs a [pico] (or, for scoping reviews, [pcc]) table. Add one."
    ]


def test_unknown_subgroup_field() -> None:
    data = flagship_data()
    data["analysis"]["subgroups"][0]["field"] = "colour"
    [problem] = problems(data)
    assert problem.startswith("analysis.subgroups[0].field: unknown extraction field 'colour'.")


def test_show_json_round_trips() -> None:
    result = runner.invoke(app, ["--workspace", str(REPO), "protocol", "show", "--format", "json"])
    assert result.exit_code == 0
    import json

    shown = json.loads(result.output)
    assert parse_protocol(shown, "shown").model_dump() == load_protocol(FLAGSHIP).model_dump()


def test_export_markdown_has_prospero_sections(tmp_path: Path) -> None:
    out = tmp_path / "reg.md"
    result = runner.invoke(app, ["--workspace", str(REPO), "protocol", "export", "--format", "md", "-o", str(out)])
    assert result.exit_code == 0
    text = out.read_text()
    p = load_protocol(FLAGSHIP)
    assert text == to_markdown(p) + "\n"
    for heading in ("## Review question", "## Searches", "## Eligibility criteria", "## Strategy for data synthesis"):
        assert heading in text
    assert p.sources.pubmed is not None and p.sources.pubmed.query in text


def test_misspelt_keys_get_the_nearest_field_at_their_place() -> None:
    data = flagship_data()
    data["review"]["questoin"] = data["review"].pop("question")
    data["outcomes"][1]["measur"] = data["outcomes"][1].pop("measure")
    data["pico"]["zzz"] = "nothing like any field"
    found = problems(data)
    assert "review.questoin: unknown field 'questoin'. Did you mean 'question'? Remove it or check its " \
           "spelling (see docs/protocol.md)." in found
    assert any(p.startswith("outcomes[1].measur: unknown field 'measur'. Did you mean 'measure'?") for p in found)
    assert "pico.zzz: unknown field 'zzz'. Remove it or check its spelling (see docs/protocol.md)." in found


def test_todo_placeholders_are_a_warning_not_valid(tmp_path: Path) -> None:
    from synth.protocol.load import placeholders

    assert placeholders({"a": "TODO: x", "b": {"c": ["ok", "TODO"]}, "d": 3}) == ["a", "b.c[1]"]
    ws = tmp_path / "w"
    assert runner.invoke(app, ["init", str(ws), "--template", "blank"]).exit_code == 0
    result = runner.invoke(app, ["--workspace", str(ws), "protocol", "validate"])
    assert result.exit_code == 0
    assert ": valid (" not in result.stdout and "but not ready:" in result.stdout
    assert "review.question" in result.stdout and "TODO placeholders in the protocol" in result.stderr
    done = runner.invoke(app, ["--workspace", str(REPO), "protocol", "validate"])
    assert done.exit_code == 0 and ": valid (" in done.stdout and "TODO" not in done.output


def test_gap_map_rows_must_name_a_choice_field() -> None:
    data = flagship_data()
    assert data["analysis"]["gap_map_rows"] == "partnership_model"
    data["analysis"]["gap_map_rows"] = "population"  # a text field: no values to make rows of
    found = problems(data)
    assert any(p.startswith("analysis.gap_map_rows: 'population' is not a study field with allowed values.")
               for p in found)


def test_gap_map_axis_follows_the_protocol() -> None:
    from synth.evidence.gather import ALL_STUDIES, model_axis

    protocol = load_protocol(FLAGSHIP)
    label, rows = model_axis(protocol)
    field = next(f for f in protocol.extraction.study_fields if f.id == "partnership_model")
    assert label == field.label and [r for r, _ in rows] == list(field.allowed)
    data = flagship_data()
    del data["analysis"]["gap_map_rows"]
    assert model_axis(parse_protocol(data, "p.toml")) == ("Studies", [(ALL_STUDIES, "All studies")])
