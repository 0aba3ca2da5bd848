"""The PostgreSQL schema and its versioned, forward-only migrations.

Everything lives in the ``threadstore`` schema of the database:

``threads``
    One row per materialized thread: its metadata in columns (every listing filter and sort has
    an index; keyset pagination on ``(created_ms | updated_ms, thread_id)``), the state of its
    :class:`~threadstore._rollout.summary.ThreadSummary` fold (``summary``, so a writer resumes
    folding where the last one stopped), the metadata patch applied over it (``overrides``),
    ``next_seq`` (how many items it has) and ``meta_version`` (bumped by every change of
    ``overrides`` or the archive state, so a live writer knows when its cached copy is stale).
``items``
    Each item once, in order: ``(thread_id, seq)``, the exact JSON bytes as appended and the
    time it was written. Appends insert rows; nothing is ever rewritten. ``bytea``, not
    ``jsonb``: jsonb reorders keys and turns numbers into ``numeric``, and an item must come
    back exactly as it went in (key order, unknown fields, integers of any size); the summary
    and overrides are stored the same way for the same reason.
``texts``
    The searchable texts of each item (``search_texts``): the exact text (for snippets) and its
    ``str.casefold()`` form under a pg_trgm GIN index (see :mod:`.search`).
``leases``
    One row per live writer: holder, fencing token (from the ``lease_tokens`` sequence, so it
    never repeats), expiry.
``turn_heads``, ``turns`` (version 2)
    Each thread's turn index (:mod:`threadstore._rollout.turn_index`): its head and one row per
    turn, brought up to date with the items when a page of turns or items is asked for
    (:mod:`.pages`).
``append_keys`` (version 2)
    The idempotency keys of appends (with the first sequence number they stored), so that an
    append retried with its key is recognised even by another writer after a restart.
``labels``, ``fold_version`` (version 3)
    The thread's labels (``jsonb``, under a GIN index for label filters), and the version of the
    summary fold that made ``summary`` (:data:`~threadstore._rollout.summary.FOLD_VERSION`): rows
    an older fold made are recomputed from their items (:mod:`.refold`).
``schema_version``
    The version of this schema.

:func:`migrate` runs on a store's first use. Each migration runs in its own transaction holding
``pg_advisory_xact_lock`` (a transaction-level lock: safe behind a transaction-mode pooler), and
re-reads the version under the lock, so many processes starting at once migrate exactly once. A
database whose version is newer than this code knows is refused (``Unsupported``, naming both).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from threadstore.errors import Unsupported

if TYPE_CHECKING:
    import psycopg

__all__ = ["SCHEMA", "SCHEMA_VERSION", "migrate"]

SCHEMA: Final = "threadstore"
_LOCK_KEY: Final = 0x7468726561647374  # "threadst"

_V1: Final = """
CREATE SCHEMA IF NOT EXISTS threadstore;
CREATE SEQUENCE threadstore.lease_tokens;
CREATE TABLE threadstore.threads (
    thread_id uuid PRIMARY KEY,
    created_row timestamptz NOT NULL,
    next_seq bigint NOT NULL,
    summary bytea NOT NULL,
    overrides bytea NOT NULL DEFAULT '{}'::bytea,
    meta_version bigint NOT NULL DEFAULT 0,
    archived boolean NOT NULL DEFAULT false,
    archived_at timestamptz,
    visible boolean NOT NULL,
    created_ms bigint NOT NULL,
    updated_ms bigint NOT NULL,
    source_kind text NOT NULL,
    source_json jsonb NOT NULL,
    model_provider text NOT NULL,
    cwd text NOT NULL,
    name_folded text NOT NULL,
    preview_folded text NOT NULL,
    first_folded text NOT NULL,
    thread_json bytea NOT NULL
);
CREATE INDEX threads_by_created ON threadstore.threads (archived, created_ms, thread_id) WHERE visible;
CREATE INDEX threads_by_updated ON threadstore.threads (archived, updated_ms, thread_id) WHERE visible;
CREATE INDEX threads_by_source ON threadstore.threads (source_kind, archived, created_ms, thread_id) WHERE visible;
CREATE INDEX threads_by_provider ON threadstore.threads (model_provider, archived, created_ms, thread_id)
    WHERE visible;
CREATE INDEX threads_by_cwd ON threadstore.threads (cwd, archived, created_ms, thread_id) WHERE visible;
CREATE TABLE threadstore.items (
    thread_id uuid NOT NULL REFERENCES threadstore.threads ON DELETE CASCADE,
    seq bigint NOT NULL,
    written_at text NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (thread_id, seq)
);
CREATE TABLE threadstore.texts (
    thread_id uuid NOT NULL REFERENCES threadstore.threads ON DELETE CASCADE,
    seq bigint NOT NULL,
    n integer NOT NULL,
    body bytea NOT NULL,
    folded text NOT NULL,
    PRIMARY KEY (thread_id, seq, n)
);
CREATE INDEX texts_folded ON threadstore.texts USING gin (folded {trgm}.gin_trgm_ops);
CREATE TABLE threadstore.leases (
    thread_id uuid PRIMARY KEY,
    holder text NOT NULL,
    token bigint NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX leases_by_holder ON threadstore.leases (holder);
"""

_V2: Final = """
CREATE TABLE threadstore.turn_heads (
    thread_id uuid PRIMARY KEY REFERENCES threadstore.threads ON DELETE CASCADE,
    head bytea NOT NULL
);
CREATE TABLE threadstore.turns (
    thread_id uuid NOT NULL REFERENCES threadstore.threads ON DELETE CASCADE,
    seq integer NOT NULL,
    turn_id text NOT NULL,
    first_seq bigint NOT NULL,
    end_seq bigint NOT NULL,
    open boolean NOT NULL,
    implicit boolean NOT NULL,
    legacy_before bigint NOT NULL,
    implicit_before bigint NOT NULL,
    items_before bigint NOT NULL,
    item_count bigint NOT NULL,
    legacy_count bigint NOT NULL,
    PRIMARY KEY (thread_id, seq)
);
CREATE INDEX turns_by_item ON threadstore.turns (thread_id, items_before);
CREATE INDEX turns_by_id ON threadstore.turns (thread_id, turn_id);
CREATE TABLE threadstore.append_keys (
    thread_id uuid NOT NULL REFERENCES threadstore.threads ON DELETE CASCADE,
    key text NOT NULL,
    first_seq bigint NOT NULL,
    PRIMARY KEY (thread_id, key)
);
"""

_V3: Final = """
ALTER TABLE threadstore.threads ADD COLUMN labels jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE threadstore.threads ADD COLUMN fold_version integer NOT NULL DEFAULT 1;
CREATE INDEX threads_by_labels ON threadstore.threads USING gin (labels jsonb_path_ops) WHERE visible;
CREATE INDEX threads_by_fold_version ON threadstore.threads (fold_version);
"""

#: Migration n (1-based) brings the schema from version n-1 to n. Append; never edit.
MIGRATIONS: Final[tuple[str, ...]] = (_V1, _V2, _V3)
SCHEMA_VERSION: Final = len(MIGRATIONS)


async def _current_version(conn: psycopg.AsyncConnection[Any]) -> int:
    # A plain query of the catalog (not to_regclass, whose cached lookup may not yet see a table
    # another process created while this one waited for the migration lock).
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'threadstore' AND c.relname = 'schema_version')"
    )
    row = await cur.fetchone()
    if row is None or not row[0]:
        return 0
    cur = await conn.execute("SELECT version FROM threadstore.schema_version")
    row = await cur.fetchone()
    return int(row[0]) if row is not None else 0


def _check_known(version: int) -> None:
    if version > SCHEMA_VERSION:
        raise Unsupported(
            f"the database has threadstore schema version {version}, newer than this code knows "
            f"(version {SCHEMA_VERSION}): upgrade threadstore"
        )


async def _trgm_schema(conn: psycopg.AsyncConnection[Any]) -> str:
    cur = await conn.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
    )
    row = await cur.fetchone()
    if row is None:
        raise Unsupported("the pg_trgm extension is not installed in the database")
    return '"' + str(row[0]).replace('"', '""') + '"'


async def migrate(conn: psycopg.AsyncConnection[Any]) -> None:
    """Bring the schema to :data:`SCHEMA_VERSION` (see the module documentation)."""
    version = await _current_version(conn)
    _check_known(version)
    while version < SCHEMA_VERSION:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            version = await _current_version(conn)
            _check_known(version)
            if version >= SCHEMA_VERSION:
                break
            target = version + 1
            script = MIGRATIONS[version]
            if target == 1:
                await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                script = script.replace("{trgm}", await _trgm_schema(conn))
                await conn.execute(script.encode())
                await conn.execute("CREATE TABLE threadstore.schema_version (version integer NOT NULL)")
                await conn.execute("INSERT INTO threadstore.schema_version VALUES (%s)", (target,))
            else:
                await conn.execute(script.encode())
                await conn.execute("UPDATE threadstore.schema_version SET version = %s", (target,))
        version = target
