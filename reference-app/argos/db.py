"""The database side: the schema the migration makes, and the visit counter a request bumps.

Everything here takes a DB-API connection, so tests pass a fake one; only
`connector` imports psycopg.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from argos.settings import Database

# Any constant the app owns: concurrent migrations (every host of a batch runs
# one) wait for each other instead of racing on CREATE TABLE.
MIGRATION_LOCK = 0x4172676F73  # "Argos"

MIGRATIONS: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS argos_visits ("
    " name text PRIMARY KEY,"
    " count bigint NOT NULL DEFAULT 0,"
    " updated timestamptz NOT NULL DEFAULT now())",
    "INSERT INTO argos_visits (name, count) VALUES ('/', 0) ON CONFLICT (name) DO NOTHING",
)

COUNT_VISIT = ("UPDATE argos_visits SET count = count + 1, updated = now()"
               " WHERE name = %s RETURNING count")


class Cursor(Protocol):
    def execute(self, query: str, params: Any = ..., /) -> Any: ...
    def fetchone(self) -> Any: ...


class Connection(Protocol):
    def cursor(self) -> Any: ...
    def commit(self) -> None: ...
    def close(self) -> None: ...


Connect = Callable[[], Connection]


def connector(database: Database) -> Connect:
    """A connection factory for the rendered database settings (psycopg 3)."""

    def connect() -> Connection:
        import psycopg

        conn: Connection = psycopg.connect(**database.connect_kwargs())
        return conn

    return connect


def ping(connect: Connect) -> None:
    """Raise unless the database answers `SELECT 1`."""
    conn = connect()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        cur.fetchone()
    finally:
        conn.close()


def count_visit(connect: Connect, name: str = "/") -> int:
    """Add one to the counter `name` and return the new count (a real write, committed)."""
    conn = connect()
    try:
        cur = conn.cursor()
        cur.execute(COUNT_VISIT, (name,))
        row = cur.fetchone()
        if row is None:
            raise LookupError(f"no visit counter {name!r}: has the migration run?")
        conn.commit()
        return int(row[0])
    finally:
        conn.close()


def migrate(connect: Connect) -> int:
    """Run every migration in one transaction under an advisory lock; idempotent."""
    conn = connect()
    try:
        cur = conn.cursor()
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        for statement in MIGRATIONS:
            cur.execute(statement)
        conn.commit()
        return len(MIGRATIONS)
    finally:
        conn.close()
