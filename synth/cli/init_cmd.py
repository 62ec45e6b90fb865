"""`synth init`: create a review workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synth.cli.choices import one_of
from synth.cli.output import info

# Library modules are imported inside the commands that use them, so `synth --help` loads none of them.


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init(
        directory: Annotated[Path, typer.Argument(help="Folder to create the workspace in (created if missing).")] = Path("."),
        template: Annotated[
            str, typer.Option("--template", "-t", help="Protocol template: blank or partnership-outcomes.",
                         callback=one_of("synth.protocol.templates", "TEMPLATES"))
        ] = "blank",
        name: Annotated[
            str | None, typer.Option("--name", "-n", help="Protocol name (default: the template's name, or 'review').")
        ] = None,
    ) -> None:
        """Create a review workspace: protocols/<name>.toml, extractions/<name>/ and .synth/ (git-ignored).

        Example: synth init my-review --template partnership-outcomes
        """
        from synth.protocol.templates import init_workspace

        created = init_workspace(directory, template, name)
        for path in created:
            info(f"created {path}")
        protocol = next(p for p in created if p.suffix == ".toml")
        typer.echo(f"Workspace ready at {directory}. Edit {protocol}, then run `synth protocol validate`.")
