"""Extraction files and their validation: syntax errors with line and column, every problem at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from synth.errors import InputError
from synth.extraction.files import (
    by_study,
    load_folder,
    read_file,
    reconciled_path,
    reviewer_path,
    split_name,
    write_text,
)
from synth.extraction.validate import check_included, validate_file, validate_files
from synth.protocol import load_protocol
from synth.protocol.model import Protocol

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "extraction"
TEMPLATE = REPO / "synth" / "protocol" / "templates" / "partnership-outcomes.toml"
NAME = "partnership-outcomes"


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load_protocol(TEMPLATE)


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """
schema_version = 1
study = "min-2000"
protocol = "partnership-outcomes"
status = "complete"
[citation]
label = "Min 2000"
[characteristics]
design = "rct"
country = "NR"
setting = "NR"
partnership_model = "NR"
sectors = "NR"
population = "NR"
"""


def _row(body: str, outcome: str = "mortality", timepoint: str = "follow-up") -> str:
    return MINIMAL + f'\n[[outcomes]]\noutcome = "{outcome}"\ntimepoint = "{timepoint}"\nsource_location = "T1"\n{body}\n'


def _problems(tmp_path: Path, protocol: Protocol, text: str, name: str = "min-2000.toml") -> list[tuple[str, str]]:
    f = read_file(_write(tmp_path, name, text))
    return [(p.path, p.message) for p in validate_file(f, protocol, NAME)]


def test_names() -> None:
    assert split_name(Path("smith-2019.toml")) == ("smith-2019", None)
    assert split_name(Path("smith-2019.alice.toml")) == ("smith-2019", "alice")
    assert split_name(Path("Smith.toml")) is None
    assert split_name(Path("a.b.c.toml")) is None
    assert reviewer_path(Path("x"), "s-1", "bob") == Path("x/s-1.bob.toml")
    with pytest.raises(InputError, match="'Smith 2019' is not a valid study id"):
        reconciled_path(Path("x"), "Smith 2019")


def test_toml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "s-1.toml", 'study = "s-1"\n[citation]\nlabel = Smith\n')
    with pytest.raises(InputError) as err:
        read_file(path)
    assert str(err.value).startswith(f"{path}:3:9: TOML syntax error (line 3, column 9): Invalid value.")


def test_load_folder_reports_unreadable_files_and_keeps_going(tmp_path: Path) -> None:
    _write(tmp_path, "s-1.toml", 'study = "s-1"\nx = [\n')
    _write(tmp_path, "Bad Name.toml", "")
    _write(tmp_path, "s-2.alice.toml", 'study = "s-2"\n')
    files, problems = load_folder(tmp_path)
    assert [f.path.name for f in files] == ["s-2.alice.toml"]
    assert sorted(Path(p.file).name for p in problems) == ["Bad Name.toml", "s-1.toml"]
    assert any("line 3, column 1" in p.message for p in problems)


def test_write_never_overwrites_unless_told(tmp_path: Path) -> None:
    path = write_text(tmp_path / "a.toml", "x = 1\n")
    with pytest.raises(InputError, match="already exists; nothing was overwritten"):
        write_text(path, "x = 2\n")
    assert path.read_text() == "x = 1\n"
    write_text(path, "x = 2\n", overwrite=True)
    assert path.read_text() == "x = 2\n"


def test_minimal_file_with_not_reported_values_is_clean(tmp_path: Path, protocol: Protocol) -> None:
    assert _problems(tmp_path, protocol, _row("events_t = 1\nn_t = 10\nevents_c = 2\nn_c = 10")) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("events_t = 11\nn_t = 10\nevents_c = 2\nn_c = 10",
         ("outcomes[1].events_t", "events (11) exceed the group size n_t = 10")),
        ("events_t = 1\nn_t = 0\nevents_c = 2\nn_c = 10", ("outcomes[1].n_t", "group size must be > 0, got 0")),
        ("events_t = -1\nn_t = 5\nevents_c = 2\nn_c = 10", ("outcomes[1].events_t", "events must be >= 0, got -1")),
        ("events_t = 1.5\nn_t = 5\nevents_c = 2\nn_c = 10",
         ("outcomes[1].events_t", "a count must be a whole number, got 1.5")),
        ("events_t = 1\nn_t = 5", ("outcomes[1]", "incomplete binary data: missing events_c, n_c")),
        ("yi = 0.2", ("outcomes[1]", "incomplete generic data: yi needs vi or sei (and vice versa)")),
        ("yi = 0.2\nsei = 0", ("outcomes[1].sei", "standard error must be > 0, got 0")),
        ("estimate = 0.8\nci_low = 0.9\nci_high = 1.2",
         ("outcomes[1].estimate", "the CI [0.9, 1.2] does not contain the estimate 0.8")),
        ("estimate = 1.0\nci_low = 1.2\nci_high = 0.9",
         ("outcomes[1].ci_low", "CI lower bound 1.2 is not below the upper bound 0.9")),
        ("estimate = -0.2\nci_low = -0.5\nci_high = 0.1",
         ("outcomes[1].estimate", "a RR is a ratio and must be > 0 on the reported scale, got -0.2")),
        ("mean_t = 1\nsd_t = 1\nn_t = 5\nmean_c = 1\nsd_c = 1\nn_c = 5",
         ("outcomes[1]", "continuous data cannot give the protocol's measure RR for this outcome")),
        ("events_t = \"3\"\nn_t = 5\nevents_c = 2\nn_c = 10", ("outcomes[1].events_t", "expected a number, got '3'")),
        ("", ("outcomes[1]", "no group data")),
        ("sd = 3", ("outcomes[1].sd", "unknown outcome field 'sd'")),
    ],
)
def test_impossible_and_incomplete_numbers(tmp_path: Path, protocol: Protocol, body: str,
                                           expected: tuple[str, str]) -> None:
    assert expected in _problems(tmp_path, protocol, _row(body))


def test_continuous_sd_and_correlation(tmp_path: Path, protocol: Protocol) -> None:
    body = "mean_t = 1\nsd_t = 0\nn_t = 5\nmean_c = 1\nsd_c = -2\nn_c = 5"
    problems = _problems(tmp_path, protocol, _row(body, "quality-of-life", "12 months"))
    assert ("outcomes[1].sd_t", "SD must be > 0, got 0") in problems
    assert ("outcomes[1].sd_c", "SD must be > 0, got -2") in problems
    problems = _problems(tmp_path, protocol, _row("r = 1.4\nn = 30", "quality-of-life", "12 months"))
    assert ("outcomes[1].r", "a correlation must lie in [-1, 1], got 1.4") in problems


def test_outcome_ids_timepoints_and_duplicates(tmp_path: Path, protocol: Protocol) -> None:
    row = "events_t = 1\nn_t = 5\nevents_c = 2\nn_c = 5"
    text = _row(row, "mortalty") + _row(row, "mortality", "forever")[len(MINIMAL):] + _row(row, "mortality", "forever")[len(MINIMAL):]
    problems = _problems(tmp_path, protocol, text)
    assert ("outcomes[1].outcome", "'mortalty' is not an outcome id in the protocol") in problems
    assert ("outcomes[2].timepoint", "'forever' is not a timepoint of outcome 'mortality' in the protocol") in problems
    assert ("outcomes[3]", "a second row for outcome 'mortality' at 'forever' (first is outcomes[2])") in problems


def test_several_effects_per_outcome_need_their_own_effect_name(tmp_path: Path, protocol: Protocol) -> None:
    row = "events_t = 1\nn_t = 5\nevents_c = 2\nn_c = 5"

    def rows(*effects: str | None) -> str:
        out = MINIMAL
        for e in effects:
            out += _row(row + (f'\neffect = "{e}"' if e is not None else ""))[len(MINIMAL):]
        return out

    assert _problems(tmp_path, protocol, rows("site 1", "site 2", "site 3")) == []
    dup = ("outcomes[2]", "a second row for outcome 'mortality' at 'follow-up' (first is outcomes[1])")
    assert dup in _problems(tmp_path, protocol, rows("site 1", "site 1"))  # the same effect twice
    assert dup in _problems(tmp_path, protocol, rows(None, "site 2"))  # the first row names no effect
    assert dup in _problems(tmp_path, protocol, rows("site 1", None))
    bad = MINIMAL + _row(row + "\neffect = 3")[len(MINIMAL):]
    assert ("outcomes[1].effect", "effect must be a short text naming this effect of the study") in \
        _problems(tmp_path, protocol, bad)


def test_study_fields_and_header(tmp_path: Path, protocol: Protocol) -> None:
    text = MINIMAL.replace('design = "rct"', 'design = "RCT"').replace('study = "min-2000"', 'study = "other"')
    text = text.replace('sectors = "NR"', 'sectors = ["health", "police"]') + "pooled_budget = \"yes\"\nfoo = 1\n"
    problems = dict(_problems(tmp_path, protocol, text))
    assert problems["study"] == "study is 'other' but the file name says 'min-2000'"
    assert problems["characteristics.design"] == "'RCT' is not an allowed value"
    assert problems["characteristics.sectors[2]"] == "'police' is not an allowed value"
    assert problems["characteristics.pooled_budget"] == "expected true or false, got 'yes'"
    assert problems["characteristics.foo"] == "'foo' is not a field of the protocol's extraction form"
    text = MINIMAL.replace('population = "NR"', 'population = ""')
    assert dict(_problems(tmp_path, protocol, text))["characteristics.population"] == (
        "required field 'Participants' is missing or empty")


def test_rob_override_needs_a_reason(tmp_path: Path, protocol: Protocol) -> None:
    entry = '\n[[rob]]\ntool = "rob2"\nanswers = { "1.1" = "Y", "1.2" = "N", "1.3" = "N" }\njudgements = { D1 = "low" }\n'
    problems = _problems(tmp_path, protocol, MINIMAL + entry)
    assert problems == [("rob[1].judgements.D1",
                         "judgement 'low' differs from the algorithm's suggestion 'high' (1.2 N/PN (allocation not concealed))")]
    assert _problems(tmp_path, protocol, MINIMAL + entry + 'reasons = { D1 = "concealment was adequate per the protocol" }\n') == []
    bad = '\n[[rob]]\ntool = "robins-i"\njudgements = { D1 = "awful" }\nanswers = {}\n'
    problems = _problems(tmp_path, protocol, MINIMAL + bad)
    assert ("rob[1].tool", "the protocol names 'rob2' for design 'rct', not 'robins-i'") in problems
    assert ("rob[1].judgements.D1", "'awful' is not a ROBINS-I judgement") in problems


def test_fixture_with_every_problem(tmp_path: Path, protocol: Protocol) -> None:
    f = read_file(FIXTURES / "bad-2021.toml")
    problems = validate_file(f, protocol, NAME)
    assert len(problems) == 19
    assert all(p.fix for p in problems)
    assert {p.path for p in problems} >= {"colour", "status", "citation.year", "outcomes[4].outcome", "outcomes[6]"}


def test_two_reconciled_files_for_one_study(tmp_path: Path, protocol: Protocol) -> None:
    _write(tmp_path, "min-2000.toml", MINIMAL)
    _write(tmp_path, "min-2000b.toml", MINIMAL)
    files, _ = load_folder(tmp_path)
    problems = validate_files(files, protocol, NAME)
    assert [str(p) for p in problems if p.message.startswith("2 reconciled")] == [
        "min-2000.toml, min-2000b.toml: study: 2 reconciled files for study 'min-2000'. "
        "Keep exactly one reconciled file per study; merge and delete the others"]


def test_studies_not_included(tmp_path: Path) -> None:
    for name in ("demo-2020.alice.toml", "demo-2020.bob.toml"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    files, _ = load_folder(tmp_path)
    assert list(by_study(files)) == ["demo-2020"]
    assert check_included(files, {"demo-2020"}) == []
    problems = check_included(files, {"other-2001"})
    assert [p.message for p in problems] == ["study 'demo-2020' is not included at full text"] * 2


def test_row_extras_are_typed(tmp_path: Path, protocol: Protocol) -> None:
    body = "events_t = 1\nn_t = 5\nevents_c = 2\nn_c = 5\nadjusted = \"yes\"\nnotes = 3"
    problems = _problems(tmp_path, protocol, _row(body))
    assert problems == [("outcomes[1].adjusted", "expected true or false, got 'yes'"),
                        ("outcomes[1].notes", "expected text, got 3")]


@pytest.mark.parametrize(("body", "field", "value"), [
    ("events_t = nan\nn_t = 10\nevents_c = 2\nn_c = 10", "events_t", "nan"),
    ("mean_t = 1\nsd_t = nan\nn_t = 5\nmean_c = 1\nsd_c = 1\nn_c = 5", "sd_t", "nan"),
    ("mean_t = inf\nsd_t = 1\nn_t = 5\nmean_c = 1\nsd_c = 1\nn_c = 5", "mean_t", "inf"),
    ("yi = 0.2\nsei = -inf", "sei", "-inf"),
])
def test_non_finite_numbers_are_problems_at_check_time(tmp_path: Path, protocol: Protocol, body: str, field: str,
                                                       value: str) -> None:
    """TOML accepts nan and inf; no reported figure is either, so each is one problem naming the field."""
    problems = _problems(tmp_path, protocol, _row(body, "quality-of-life", "12 months"))
    assert (f"outcomes[1].{field}",
            f"{field} of outcome 'quality-of-life' at '12 months' is {value}, not a finite number") in problems
