"""Adopted screening history (`data/<protocol>/screening-history.csv`) and the script that bundles it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from synth.errors import InputError
from synth.protocol import load_protocol
from synth.screening.history import ADOPTED, apply_history, read_history
from synth.screening.service import Settings, resolve, stage_state
from synth.store import open_store

REPO = Path(__file__).resolve().parent.parent
NAME = "partnership-outcomes"
HEADER = "record,stage,decision,reason,by,note,retrieval,location\n"


@pytest.fixture()
def setup(tmp_path: Path):  # type: ignore[no-untyped-def]
    from synth.importers.pipeline import import_file

    protocol = load_protocol(REPO / "protocols" / f"{NAME}.toml")
    store = open_store(f"sqlite:///{tmp_path / 's.sqlite'}")
    csv_path = tmp_path / "refs.csv"
    csv_path.write_text("id,authors,year,title\na-1,Smith,2001,First trial\nb-2,Jones,2003,Second trial\n",
                        encoding="utf-8")
    import_file(store, csv_path, source="lists", fmt="csv", kind="citation")
    yield protocol, store, tmp_path
    store.close()


def _write(tmp: Path, body: str) -> Path:
    path = tmp / "history.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_adopted_decisions_are_resolutions_and_idempotent(setup) -> None:  # type: ignore[no-untyped-def]
    protocol, store, tmp = setup
    settings = Settings.from_protocol(protocol)
    path = _write(tmp, "a-1,title-abstract,include,,Review X authors,adopted,,\n"
                       "a-1,full-text,include,,Review X authors,adopted,retrieved,https://doi.org/10.1/x\n"
                       "b-2,title-abstract,exclude,,Review X authors,not in review,,\n")
    rep = apply_history(store, settings, path)
    assert (rep.rows, rep.applied, rep.already, rep.retrieval, rep.problems) == (3, 3, 0, 1, [])
    with store.connect() as conn:
        ta = stage_state(conn, settings, "title-abstract")
        ft = stage_state(conn, settings, "full-text")
    assert sorted(o.status for o in ta.outcomes.values()) == ["exclude", "include"]
    assert [o.status for o in ft.outcomes.values()] == ["include"]
    assert all(r.method == ADOPTED and r.resolved_by == "Review X authors" for r in ta.resolutions.values())
    assert ta.decisions == []  # nobody's agreement statistics are touched
    again = apply_history(store, settings, path)
    assert (again.applied, again.already, again.retrieval) == (0, 3, 0)


def test_a_later_human_resolution_wins(setup) -> None:  # type: ignore[no-untyped-def]
    protocol, store, tmp = setup
    settings = Settings.from_protocol(protocol)
    path = _write(tmp, "a-1,title-abstract,include,,Review X authors,adopted,,\n")
    apply_history(store, settings, path)
    with store.connect() as conn:
        rid = next(iter(stage_state(conn, settings, "title-abstract").resolutions))
    reason = settings.reasons("title-abstract")[0]
    resolve(store, settings, record_id=rid, stage="title-abstract", decision="exclude", reason=reason,
            method="consensus", resolved_by="Ann")
    assert apply_history(store, settings, path).applied == 0
    with store.connect() as conn:
        assert stage_state(conn, settings, "title-abstract").outcomes[rid].status == "exclude"


def test_unknown_record_is_reported_not_guessed(setup) -> None:  # type: ignore[no-untyped-def]
    protocol, store, tmp = setup
    rep = apply_history(store, Settings.from_protocol(protocol),
                        _write(tmp, "zz-9,title-abstract,include,,R,adopted,,\n"))
    assert rep.applied == 0 and len(rep.problems) == 1
    assert rep.problems[0].startswith("history.csv: line 2: no record matches 'zz-9'")


@pytest.mark.parametrize(("body", "message"), [
    ("a-1,screening,include,,R,,,\n", "line 2: stage must be one of"),
    ("a-1,title-abstract,maybe,,R,,,\n", "decision include or exclude"),
    ("a-1,title-abstract,include,,,,,\n", "line 2: 'by' is empty"),
])
def test_bad_rows_name_the_line(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_history(_write(tmp_path, body))


def test_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("record,decision\n1,include\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing column"):
        read_history(path)


def test_bundled_files_are_what_the_script_builds(domain_dir: Path) -> None:
    """data/partnership-outcomes/ is generated from shared/domain and the extraction files, never hand-edited."""
    spec = importlib.util.spec_from_file_location("bundle_flagship", REPO / "scripts" / "bundle_flagship.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build()
    assert set(built) == {"citation-records.csv", "screening-history.csv", "existing-reviews.toml"}
    for name, text in built.items():
        assert (REPO / "data" / NAME / name).read_text(encoding="utf-8") == text, f"regenerate {name}"
