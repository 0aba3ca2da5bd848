"""The PostgreSQL backend: threads shared by many processes and machines.

``PostgresThreadStore(dsn)`` keeps every thread in one database (schema ``threadstore``), on
psycopg 3 (async) with a connection pool. Install with ``pip install threadstore[postgres]``.

Modules: :mod:`.store` (the operations), :mod:`.writer` (live writers: one statement per append,
fenced by the lease), :mod:`.leases` (writer leases and fencing tokens), :mod:`.schema`
(versioned migrations), :mod:`.listing` and :mod:`.search` (queries), :mod:`.pages` (turn and item pages), :mod:`.rows` (how a row
is composed from the summary fold and the overrides), :mod:`.rowio` (history reads and locked
metadata changes), :mod:`.db` (pool and retries) and
:mod:`.errors` (psycopg exceptions mapped to the store's).
"""

from typing import Any

from threadstore._backends.postgres.store import PostgresThreadStore

__all__ = ["PostgresThreadStore", "open_url"]

_OPTIONS = ("pool_size", "lease_ttl", "retry_for", "connect_timeout", "max_item_bytes", "writer_id")


def open_url(url: str, /, **options: Any) -> PostgresThreadStore:
    """The store of a ``postgresql://`` (or ``postgres://``) libpq URL. Options: the keywords of
    :class:`PostgresThreadStore` (``pool_size``, ``lease_ttl``, ...); others are ignored."""
    return PostgresThreadStore(url, **{name: options[name] for name in _OPTIONS if name in options})
