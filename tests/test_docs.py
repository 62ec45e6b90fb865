"""Docs that cannot drift: the generated references match the code, and every command is documented."""

from __future__ import annotations

from pathlib import Path

from synth.cli.docgen import GENERATED, command_paths

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_generated_docs_are_current() -> None:
    stale = [name for name, make in GENERATED.items() if (DOCS / name).read_text("utf-8") != make() + "\n"]
    assert stale == [], f"regenerate with `python -m synth.cli.docgen`: {stale}"


def test_every_command_is_in_cli_reference() -> None:
    text = (DOCS / "cli.md").read_text("utf-8")
    missing = [" ".join(p) for p in command_paths() if f"## `{' '.join(('synth', *p))}`" not in text]
    assert missing == []


def test_hand_written_docs_exist() -> None:
    for name in ("workspace.md", "protocol.md", "pipeline.md", "dependencies.md"):
        assert (DOCS / name).stat().st_size > 500, name


def test_library_imports_in_docs_exist() -> None:
    # the names a Python example in the docs imports from synth are still there
    checked = 0
    for path in sorted(DOCS.glob("*.md")):
        for block in path.read_text("utf-8").split("```python")[1:]:
            for line in block.split("```", 1)[0].splitlines():
                if line.startswith(("from synth", "import synth")):
                    exec(line.split("#", 1)[0], {})  # raises ImportError if a name moved
                    checked += 1
    assert checked >= 6


def test_protocol_field_defaults_read_as_values() -> None:
    import re

    text = (DOCS / "protocol-fields.md").read_text("utf-8")
    assert not re.search(r"<\w+\.\w+: '", text)  # no Python enum reprs such as <Stage.full_text: 'full-text'>
    assert "`[title-abstract, full-text]`" in text
    assert "| `intervention_label` | string |  | `Intervention` |" in text


def test_extraction_docs_list_the_outcome_row_keys_the_validator_accepts() -> None:
    import re

    from synth.extraction.validate import ROW_EXTRA_KEYS

    text = (Path(__file__).resolve().parent.parent / "docs" / "extraction.md").read_text()
    para = text[text.index("Every outcome row may carry"):text.index("### Group data columns")]
    listed = set(re.findall(r"`([a-z_]+)`", para.split("whatever the protocol")[0]))
    assert listed == set(ROW_EXTRA_KEYS)
