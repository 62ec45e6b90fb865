"""The review team on a PostgreSQL server: members are login roles, and the server enforces what each may do.

Three group roles per review database (``synth_<db>_screener``, ``_lead``, ``_analyst``) carry the grants; a
member is a login role in one of them. Row-level security on the screening tables enforces blinding on the server,
not in the client:

- a **screener** reads their own decisions, and another screener's decision on a record only once they have an
  active decision on it themselves (before that the record's other decisions are invisible to them, events
  included); writes decisions and tags only under their own name; cannot resolve conflicts, record a stop,
  import or dedup;
- a **lead** reads and writes everything the pipeline writes (import, dedup, resolve, stop, retrieval);
- an **analyst** reads everything, unblinded (after screening), and writes only their own events.

The database owner (who ran ``synth team init``) is the administrator: owners bypass row-level security and run
migrations. On SQLite there are no server roles: blinding holds in the library, as it always has.
"""

from __future__ import annotations

import os
import re
from typing import Any

import sqlalchemy as sa

from synth.errors import InputError, StoreError
from synth.store.db import Store
from synth.store.events import utc_now
from synth.store.schema import team_members

ROLES = ("screener", "lead", "analyst")
"""The team roles, as ``synth team add --role`` takes them."""

PASSWORD_ENV = "SYNTH_MEMBER_PASSWORD"
"""Where ``synth team add`` takes a new member's password from (never from the command line)."""

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# the event kinds whose payload tells what a reviewer decided about a record
_BLINDED_EVENTS = ("decision", "tag")


def require_server(store: Store) -> None:
    if store.backend != "postgresql":
        raise InputError(
            f"team roles live on a PostgreSQL server, and {store.display_url} is a {store.backend} file. Pass "
            "--db postgresql+psycopg://YOU@HOST/REVIEW (or set SYNTH_DB); on SQLite, reviewers are named with "
            "--reviewer.")


def group_role(database: str, role: str) -> str:
    """The server's group role for ``role`` in the review database ``database`` (at most 63 characters)."""
    base = re.sub(r"[^a-z0-9_]", "_", database.lower())
    return f"synth_{base[: 63 - 6 - len(role) - 1]}_{role}"


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InputError(
            f"member name '{name}' is not a plain database role name: use lower-case letters, digits and _ "
            "(starting with a letter or _), at most 63 characters, e.g. alice or j_smith.")
    return name


def _q(conn: sa.Connection, identifier: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(identifier)


def _statements(conn: sa.Connection, database: str) -> list[str]:
    s, lead, a = (_q(conn, group_role(database, r)) for r in ROLES)
    everyone = f"{s}, {lead}, {a}"
    blinded = ", ".join(f"'{k}'" for k in _BLINDED_EVENTS)
    sql = [
        f"GRANT CONNECT ON DATABASE {_q(conn, database)} TO {everyone}",
        f"GRANT USAGE ON SCHEMA public TO {everyone}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {everyone}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {everyone}",
        f"GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {lead}",
        f"REVOKE INSERT, UPDATE, DELETE ON schema_migrations, team_members FROM {lead}",
        f"GRANT INSERT ON events, screening_reviewers TO {s}, {a}",
        f"GRANT INSERT, UPDATE ON screening_decisions TO {s}",
        f"GRANT INSERT, DELETE ON screening_tags TO {s}",
        f"GRANT INSERT, UPDATE, DELETE ON screening_claims TO {s}",
        # whether the person logged in has an active decision on the record: run with the owner's rights (so it
        # sees through the policies it serves), asked about session_user only, so it reveals nothing else
        """CREATE OR REPLACE FUNCTION synth_has_decided(rec integer, st text) RETURNS boolean
           LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
             SELECT EXISTS (SELECT 1 FROM screening_decisions d WHERE d.record_id = rec AND d.stage = st
                            AND d.reviewer = session_user AND d.active) $$""",
        "REVOKE ALL ON FUNCTION synth_has_decided(integer, text) FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION synth_has_decided(integer, text) TO {everyone}",
        """CREATE OR REPLACE FUNCTION synth_has_decided_any(rec integer) RETURNS boolean
           LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
             SELECT EXISTS (SELECT 1 FROM screening_decisions d WHERE d.record_id = rec
                            AND d.reviewer = session_user AND d.active) $$""",
        "REVOKE ALL ON FUNCTION synth_has_decided_any(integer) FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION synth_has_decided_any(integer) TO {everyone}",
    ]
    policies: dict[str, list[tuple[str, str, str, str | None, str | None]]] = {
        "screening_decisions": [
            ("synth_own", "ALL", s, "reviewer = session_user", "reviewer = session_user"),
            ("synth_after_own", "SELECT", s, "synth_has_decided(record_id, stage)", None),
            ("synth_lead", "ALL", lead, "true", "true"),
            ("synth_analyst", "SELECT", a, "true", None),
        ],
        "screening_resolutions": [
            ("synth_after_own", "SELECT", s, "synth_has_decided(record_id, stage)", None),
            ("synth_lead", "ALL", lead, "true", "true"),
            ("synth_analyst", "SELECT", a, "true", None),
        ],
        "screening_tags": [
            ("synth_own", "ALL", s, "reviewer = session_user", "reviewer = session_user"),
            ("synth_lead", "ALL", lead, "true", "true"),
            ("synth_analyst", "SELECT", a, "true", None),
        ],
        # a claim says only that a slot is taken, never what anyone decided: everyone may read them
        "screening_claims": [
            ("synth_read", "SELECT", f"{s}, {a}", "true", None),
            ("synth_take", "INSERT", s, None, "reviewer = session_user"),
            ("synth_renew", "UPDATE", s, "reviewer = session_user OR expires < extract(epoch from clock_timestamp())",
             "reviewer = session_user"),
            ("synth_release", "DELETE", s, "reviewer = session_user", None),
            ("synth_lead", "ALL", lead, "true", "true"),
        ],
        "events": [
            ("synth_own", "ALL", f"{s}, {a}", "actor = session_user", "actor = session_user"),
            # CASE, not AND: PostgreSQL may evaluate AND's operands in any order, and the cast fails on text
            ("synth_unblinded", "SELECT", s, f"kind NOT IN ({blinded}) OR CASE WHEN subject ~ '^[0-9]{{1,9}}$' "
                                              "THEN synth_has_decided_any(subject::integer) ELSE false END", None),
            ("synth_read", "SELECT", a, "true", None),
            ("synth_lead", "ALL", lead, "true", "true"),
        ],
    }
    for table, rows in policies.items():
        sql.append(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        for name, command, to, using, check in rows:
            sql.append(f"DROP POLICY IF EXISTS {name}_{command.lower()} ON {table}")
            clause = f"CREATE POLICY {name}_{command.lower()} ON {table} FOR {command} TO {to}"
            if using is not None:
                clause += f" USING ({using})"
            if check is not None:
                clause += f" WITH CHECK ({check})"
            sql.append(clause)
    return sql


def init_team(store: Store) -> dict[str, Any]:
    """Create the review's group roles, grants and row-level security policies (idempotent: run it again after
    an upgrade that added tables). The caller must own the database."""
    require_server(store)
    database = str(store.engine.url.database)
    with store.begin() as conn:
        owner = conn.execute(sa.text(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")).scalar_one()
        me = store.identity()
        if owner != me:
            raise InputError(f"synth team init must be run by the owner of database {database} ({owner}); you are "
                             f"{me}. Ask {owner} to run it, or connect as {owner}.")
        created = []
        for role in ROLES:
            name = group_role(database, role)
            if not conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first():
                conn.execute(sa.text(f"CREATE ROLE {_q(conn, name)} NOLOGIN"))
                created.append(name)
        for statement in _statements(conn, database):
            conn.execute(sa.text(statement))
    return {"database": database, "owner": owner, "roles_created": created,
            "roles": {r: group_role(database, r) for r in ROLES}}


def add_member(store: Store, name: str, role: str) -> dict[str, Any]:
    """Make ``name`` a member with ``role``: a login role on the server (created if absent; its password from
    ``$SYNTH_MEMBER_PASSWORD`` if set, else none, for the server's own authentication to decide), in exactly one
    of the review's group roles."""
    require_server(store)
    check_name(name)
    if role not in ROLES:
        raise InputError(f"role '{role}' is not one of {', '.join(ROLES)}.")
    database = str(store.engine.url.database)
    password = os.environ.get(PASSWORD_ENV)
    with store.begin() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"),
                            {"n": group_role(database, role)}).first():
            raise InputError(f"database {database} has no team roles yet: run synth team init first.")
        exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first()
        if not exists:
            conn.execute(sa.text(f"CREATE ROLE {_q(conn, name)} LOGIN"))
        if password:
            # libpq hashes it here (scram-sha-256): only the verifier reaches the server and any statement log
            pgconn = conn.connection.dbapi_connection.pgconn  # type: ignore[union-attr]
            verifier = pgconn.encrypt_password(password.encode(), name.encode()).decode()
            # (as the driver's own SQL: a verifier holds ':' and '$', which sa.text would read as parameters)
            conn.exec_driver_sql(f"ALTER ROLE {_q(conn, name)} PASSWORD '{verifier}'")
        for other in ROLES:
            group = _q(conn, group_role(database, other))
            verb = "GRANT {g} TO {m}" if other == role else "REVOKE {g} FROM {m}"
            conn.execute(sa.text(verb.format(g=group, m=_q(conn, name))))
        me = str(store.identity())
        conn.execute(sa.delete(team_members).where(team_members.c.name == name))
        conn.execute(team_members.insert().values(name=name, role=role, added_at=utc_now(), added_by=me))
    return {"name": name, "role": role, "created": not exists, "password_set": bool(password)}


def members(store: Store) -> list[dict[str, Any]]:
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(team_members).order_by(team_members.c.name))]


def role_of(store: Store, name: str) -> str | None:
    """The team role of ``name`` as the server sees it (group membership), or ``None`` (owner or outsider)."""
    require_server(store)
    database = str(store.engine.url.database)
    with store.connect() as conn:
        for role in ROLES:
            # direct membership (pg_has_role would call a superuser a member of every role)
            if conn.execute(sa.text(
                    "SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                    "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = :m AND g.rolname = :g"),
                    {"m": name, "g": group_role(database, role)}).first():
                return role
    return None


def is_administrator(store: Store) -> bool:
    """Whether the login role owns the review database or is a superuser (both bypass row-level security)."""
    with store.connect() as conn:
        return bool(conn.execute(sa.text(
            "SELECT pg_get_userbyid(datdba) = session_user OR (SELECT rolsuper FROM pg_roles WHERE rolname = "
            "session_user) FROM pg_database WHERE datname = current_database()")).scalar())


def check_reviewer(store: Store, reviewer: str | None) -> str | None:
    """The reviewer a command acts as. On a server it is the login role; a ``--reviewer`` naming someone else
    is refused unless the server lets this role write in others' names (a lead, the owner: importing decisions
    made on paper, say). On SQLite it is ``reviewer`` as given."""
    me = store.identity()
    if me is None:
        return reviewer
    if reviewer and reviewer != me:
        if role_of(store, me) == "lead" or is_administrator(store):
            return reviewer
        raise StoreError(f"you are connected to {store.display_url} as {me}, so you act as {me}; --reviewer "
                         f"{reviewer} names someone else. Leave --reviewer out, or connect as {reviewer}.")
    return me


def create_database(url: str) -> bool:
    """Create the review database named in ``url`` on its server, owned by the URL's user, if it is not there
    yet (the user needs CREATEDB); ``True`` when it was created."""
    target = sa.make_url(url)
    if not target.drivername.startswith("postgresql"):
        raise InputError(f"synth team init sets up a PostgreSQL server; {target.render_as_string(hide_password=True)}"
                         " is not one. Pass --db postgresql+psycopg://YOU@HOST/REVIEW (or set SYNTH_DB).")
    if target.password:
        return False  # open_store refuses it with the reason
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                            {"n": target.database}).first():
                return False
            conn.execute(sa.text(f"CREATE DATABASE {_q(conn, str(target.database))}"))
            return True
    except sa.exc.DBAPIError as exc:
        raise StoreError(f"cannot create database {target.database} on the server as {target.username}: "
                         f"{str(exc.orig).strip().splitlines()[0]}. Ask the server's administrator to create it "
                         f"owned by {target.username} (createdb -O {target.username} {target.database}), then run "
                         "synth team init again.") from exc
    finally:
        admin.dispose()
