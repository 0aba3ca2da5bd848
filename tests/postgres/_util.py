"""Helpers of the PostgreSQL store's own tests (the generic ones come from the local tests)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import psycopg

from ..local._util import history, make_thread, numbered, numbers, read_json_line, reap
from ..local._util import spawn as local_spawn

__all__ = ["history", "make_thread", "numbered", "numbers", "read_json_line", "reap", "spawn", "sql"]

CHILD = Path(__file__).with_name("_child.py")


def spawn(*args: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.Popen[str]:
    """Start this package's ``_child.py``."""
    return local_spawn(*args, stdin=stdin, child=CHILD)


def sql(dsn: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    """Run one statement directly on the database (what another program would see)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(query.encode(), args or None)
        return cur.fetchall() if cur.description else []
