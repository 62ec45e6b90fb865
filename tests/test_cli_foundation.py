"""The CLI skeleton: global options, workspace discovery, error translation, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from synth.cli.app import app

runner = CliRunner()


def invoke(*args: str, cwd: Path | None = None):
    if cwd is None:
        return runner.invoke(app, list(args), prog_name="synth")
    import os

    old = Path.cwd()
    os.chdir(cwd)
    try:
        return runner.invoke(app, list(args), prog_name="synth")
    finally:
        os.chdir(old)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    result = invoke("init", str(tmp_path / "ws"), "--template", "partnership-outcomes")
    assert result.exit_code == 0, result.output
    return tmp_path / "ws"


def test_help_lists_pipeline_groups_in_order() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    groups = ["init", "protocol", "search", "import", "records", "dedup", "screen", "extract", "meta",
              "evidence", "prisma", "run"]
    commands = result.output[result.output.index("Commands:"):]
    positions = [commands.index(f"\n  {g} ") for g in groups]
    assert positions == sorted(positions)


def test_version() -> None:
    from synth import __version__

    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output == f"synth {__version__}\n"


def test_init_creates_workspace_layout(workspace: Path) -> None:
    assert (workspace / "protocols" / "partnership-outcomes.toml").is_file()
    assert (workspace / "extractions" / "partnership-outcomes").is_dir()
    assert (workspace / ".synth").is_dir()
    assert ".synth/" in (workspace / ".gitignore").read_text().splitlines()


def test_init_refuses_to_overwrite(workspace: Path) -> None:
    result = invoke("init", str(workspace), "--template", "partnership-outcomes")
    assert result.exit_code == 1
    target = workspace / "protocols" / "partnership-outcomes.toml"
    assert result.output == f"Error: {target} already exists. Choose another --name or edit that file.\n"


def test_init_blank_template_is_valid_and_named(tmp_path: Path) -> None:
    assert invoke("init", str(tmp_path), "--name", "falls").exit_code == 0
    text = (tmp_path / "protocols" / "falls.toml").read_text()
    assert 'id = "falls"' in text
    result = invoke("--workspace", str(tmp_path), "protocol", "validate")
    assert result.exit_code == 0, result.output


def test_unknown_template(tmp_path: Path) -> None:
    result = invoke("init", str(tmp_path), "--template", "nope")
    assert result.exit_code == 2  # an invalid option value is a usage error
    assert "Invalid value for '--template' / '-t': 'nope' is not one of: blank, partnership-outcomes." in result.output


def test_workspace_discovered_from_subfolder(workspace: Path) -> None:
    sub = workspace / "extractions" / "partnership-outcomes"
    result = invoke("protocol", "validate", cwd=sub)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{workspace.resolve()}/protocols/partnership-outcomes.toml: valid (")


def test_no_workspace_is_one_clear_line(tmp_path: Path) -> None:
    result = invoke("protocol", "validate", cwd=tmp_path)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert result.output.startswith(f"Error: no synth workspace found in {tmp_path.resolve()}")
    assert "Traceback" not in result.output


def test_explicit_workspace_that_is_not_one(tmp_path: Path) -> None:
    result = invoke("--workspace", str(tmp_path), "protocol", "validate")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {tmp_path.resolve()} is not a synth workspace (no protocols/ folder). "
        f"Create one with `synth init {tmp_path}`.\n"
    )


def test_unknown_protocol_name(workspace: Path) -> None:
    result = invoke("--workspace", str(workspace), "--protocol", "other", "protocol", "validate")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: no protocol named 'other' in {workspace.resolve()}/protocols (found: partnership-outcomes). "
        "Pass one of those to --protocol.\n"
    )


def test_two_protocols_need_a_choice(workspace: Path) -> None:
    assert invoke("init", str(workspace), "--name", "second").exit_code == 0
    result = invoke("--workspace", str(workspace), "protocol", "validate")
    assert result.exit_code == 1
    assert "2 protocols in" in result.output and "Choose one with --protocol NAME." in result.output
    ok = invoke("--workspace", str(workspace), "--protocol", "second", "protocol", "validate")
    assert ok.exit_code == 0


def test_database_that_cannot_be_opened(workspace: Path) -> None:
    bad = workspace / "not-a-db.sqlite"
    bad.write_bytes(b"this is not a database file at all, just text" * 50)
    result = invoke("--workspace", str(workspace), "--db", f"sqlite:///{bad}", "run")
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"Error: cannot open database 'sqlite:///{bad}': file is not a database.")


def test_bad_db_url(workspace: Path) -> None:
    result = invoke("--workspace", str(workspace), "--db", "nosuchdialect://x", "run")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("Error: cannot open database 'nosuchdialect://x'")


def test_usage_error_exit_code_2() -> None:
    result = invoke("init", "--no-such-option")
    assert result.exit_code == 2


@pytest.mark.sqlite_only  # opens the workspace's SQLite file itself
def test_run_writes_summary(workspace: Path) -> None:
    result = invoke("--workspace", str(workspace), "run", "--format", "json")
    assert result.exit_code == 0, result.output
    out = workspace / "out" / "partnership-outcomes"
    assert (out / "summary.json").is_file() and (out / "summary.md").is_file()
    assert (workspace / ".synth" / "partnership-outcomes.sqlite").is_file()


def test_every_command_has_help_with_example() -> None:
    from synth.cli.docgen import command_paths, help_text

    missing = [" ".join(p) for p in command_paths() if p and "Example: synth" not in help_text(p)]
    assert missing == []


def test_python_dash_m_entry_point() -> None:
    proc = subprocess.run([sys.executable, "-m", "synth", "--version"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert proc.stdout.startswith("synth ")


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys; from synth.cli.app import app\n"
        "heavy = [m for m in ('pandas', 'scipy', 'matplotlib', 'sklearn', 'numpy', 'sqlalchemy', 'requests') "
        "if m in sys.modules]\nprint(','.join(heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""


def test_every_output_format_option_also_answers_to_f() -> None:
    import typer.main

    from synth.cli.app import app

    def walk(cmd: object, path: tuple[str, ...]):  # type: ignore[no-untyped-def]
        yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, (*path, name))

    missing = []
    for path, cmd in walk(typer.main.get_command(app), ()):
        for param in getattr(cmd, "params", []):
            opts = list(getattr(param, "opts", []))
            if "--format" in opts and "-f" not in opts:
                missing.append(" ".join(path))
    assert missing == []


BAD_VALUES = [
    ("screen", "conflicts", "--stage", "abstract-only"),
    ("screen", "--model", "forest", "--reviewer", "a"),
    ("screen", "resolve", "1", "include", "--method", "vote"),
    ("screen", "export", "--format", "xlsx"),
    ("screen", "retrieve", "1", "--status", "found"),
    ("screen", "simulate", "x.csv", "--model", "forest"),
    ("extract", "rob", "s1", "--tool", "jadad"),
    ("extract", "rob", "s1", "--effect", "both"),
    ("extract", "robplot", "-o", "x.svg", "--tool", "mmat"),
    ("meta", "pool", "x.csv", "--method", "bayes"),
    ("meta", "pool", "x.csv", "--test", "knha"),
    ("meta", "pool", "x.csv", "--pi", "wide"),
    ("meta", "pool", "x.csv", "--back", "log"),
    ("meta", "pool", "x.csv", "--measure", "HR"),
    ("meta", "pool", "x.csv", "--level", "150"),
    ("meta", "forest", "x.csv", "-o", "f.svg", "--direction", "up"),
    ("records", "list", "--format", "xml"),
    ("import", "x.ris", "--input-format", "docx"),
    ("init", "elsewhere", "--template", "cochrane"),
]


@pytest.mark.parametrize("args", BAD_VALUES, ids=[" ".join(a[:2]) + " " + a[-2] for a in BAD_VALUES])
def test_an_invalid_option_value_is_a_usage_error(workspace: Path, args: tuple[str, ...]) -> None:
    """Exit code 2 and the allowed values, before anything runs (the file named need not exist)."""
    result = invoke(*args, cwd=workspace)
    assert result.exit_code == 2, result.output
    assert "Invalid value for" in result.output and "Traceback" not in result.output


def test_option_values_are_accepted_in_the_case_the_library_accepts(workspace: Path, tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("study,yi,vi\na,0.1,0.01\nb,0.3,0.02\nc,0.2,0.015\n")
    result = invoke("meta", "pool", str(data), "--method", "dl", "--test", "Z", "--pi", "HTS", "-f", "json",
                    cwd=workspace)
    assert result.exit_code == 0, result.output
    assert '"method": "DL"' in result.output and '"test": "z"' in result.output
