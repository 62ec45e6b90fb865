"""`synth team`: a review on a shared PostgreSQL server: set it up, add members with roles, move a review
between SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synth.cli.choices import one_of
from synth.cli.context import get
from synth.cli.output import FORMAT_HELP, Format, emit, info

# Library modules are imported inside the commands that use them, so `synth --help` loads none of them.

HELP = ("A team review on a PostgreSQL server: reviewers on their own machines, each a database role the server "
        "holds to its part (blinded screeners, leads, analysts). See docs/team.md.\n\n"
        "Example: synth --db postgresql+psycopg://lead@db.example.org/falls team init")
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help=HELP, no_args_is_help=True)

    @group.command("init")
    def init(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
        """Create (if needed) and migrate the review's database on the server, with its team roles, grants and
        row-level security. Run it as the user who will own the database; run it again after upgrading synth.

        Example: synth --db postgresql+psycopg://lead@db.example.org/falls team init
        """
        from synth.store.team import create_database, init_team

        c = get(ctx)
        created = create_database(c.db_url)
        report = init_team(c.store)
        report["database_created"] = created
        rows = [{"database": report["database"], "owner": report["owner"], "created": created,
                 **{f"{r}_role": name for r, name in report["roles"].items()}}]
        emit(fmt, rows, json_data=report)
        info(f"Team roles ready on {c.store.display_url}. Add members with: synth team add NAME --role screener")

    @group.command("add")
    def add(
        ctx: typer.Context,
        name: Annotated[str, typer.Argument(help="The member's database login name, e.g. alice.")],
        role: Annotated[str, typer.Option("--role", help="screener, lead or analyst.",
                                          callback=one_of("synth.store.team", "ROLES"))] = "screener",
        fmt: FormatOpt = Format.table,
    ) -> None:
        """Add a member (or change their role): creates the login role on the server in the review's group for
        that role. A password, if the server wants one, comes from $SYNTH_MEMBER_PASSWORD, never the command line.

        Example: synth team add alice --role screener  (password, if any: SYNTH_MEMBER_PASSWORD=...)
        """
        from synth.store.team import add_member

        row = add_member(get(ctx).store, name, role)
        emit(fmt, [row], ["name", "role", "created", "password_set"], json_data=row)

    @group.command("list")
    def list_members(ctx: typer.Context, fmt: FormatOpt = Format.table) -> None:
        """The team's members and their roles.

        Example: synth team list -f json
        """
        from synth.store.team import members

        rows = members(get(ctx).store)
        emit(fmt, rows, ["name", "role", "added_at", "added_by"])

    @group.command("export")
    def export(
        ctx: typer.Context,
        path: Annotated[Path, typer.Argument(help="New SQLite file to write, e.g. falls-backup.sqlite.")],
        fmt: FormatOpt = Format.table,
    ) -> None:
        """Copy the whole review (every row of every table) from this store into a new SQLite file: to work
        offline, to archive it, or to move it to another server (with team import there).

        Example: synth --db postgresql+psycopg://lead@db.example.org/falls team export falls.sqlite
        """
        from synth.store.transfer import export_store

        counts = export_store(get(ctx).store, path)
        emit(fmt, [{"table": t, "rows": n} for t, n in counts.items()], json_data=counts)
        info(f"Wrote {path}.")

    @group.command("import")
    def import_(
        ctx: typer.Context,
        path: Annotated[Path, typer.Argument(help="SQLite review file (team export's, or .synth/<protocol>.sqlite).")],
        fmt: FormatOpt = Format.table,
    ) -> None:
        """Copy a whole review from a SQLite file into this store, which must be empty (e.g. a new server
        database after team init). Members' roles live on the server: add them with team add.

        Example: synth --db postgresql+psycopg://lead@db.example.org/falls team import .synth/falls.sqlite
        """
        from synth.store.transfer import import_store

        c = get(ctx)
        counts = import_store(c.store, path)
        emit(fmt, [{"table": t, "rows": n} for t, n in counts.items()], json_data=counts)
        info(f"Copied {path} into {c.store.display_url}.")

    app.add_typer(group, name="team")
