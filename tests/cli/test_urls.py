"""Store URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from threadstore import InMemoryThreadStore, InvalidRequest
from threadstore._backends.local import LocalThreadStore
from threadstore._backends.registry import default_store_url, open_store
from threadstore._backends.remote import RemoteThreadStore


def test_memory_and_grpc_urls() -> None:
    assert isinstance(open_store("memory:"), InMemoryThreadStore)
    remote = open_store("grpc://127.0.0.1:50051", environ={"THREADSTORE_TOKEN": "t"})
    assert isinstance(remote, RemoteThreadStore)
    assert remote.target == "127.0.0.1:50051"
    assert not remote.tls
    assert remote._metadata[0] == ("authorization", "Bearer t")
    assert remote._metadata[1][0] == "x-threadstore-writer"
    secure = open_store("grpcs://[::1]:443", environ={})
    assert isinstance(secure, RemoteThreadStore)
    assert secure.tls


def test_local_url(tmp_path: Path) -> None:
    store = open_store(f"local:{tmp_path / 'home'}")
    assert isinstance(store, LocalThreadStore)


def test_postgres_urls_open_the_postgres_store_lazily() -> None:
    from threadstore._backends.postgres import PostgresThreadStore

    for url in ("postgresql://db.invalid/threads", "postgres://user@db.invalid:5433/threads"):
        store = open_store(url)
        assert isinstance(store, PostgresThreadStore)
        assert store.db.dsn == url  # nothing connects before the first operation


def test_importing_threadstore_does_not_import_psycopg() -> None:
    import subprocess
    import sys

    code = (
        "import sys, threadstore; assert 'psycopg' not in sys.modules, 'psycopg imported'; "
        "assert threadstore.PostgresThreadStore.__name__ == 'PostgresThreadStore'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_default_url() -> None:
    assert default_store_url({"THREADSTORE_HOME": "/srv/threads"}) == "local:/srv/threads"
    assert default_store_url({}).endswith(".threadstore")
    assert default_store_url({}).startswith("local:/")


@pytest.mark.parametrize(
    ("url", "error", "text"),
    [
        ("", InvalidRequest, "empty"),
        ("nothing", InvalidRequest, "no scheme"),
        ("memory:extra", InvalidRequest, "no location"),
        ("local:", InvalidRequest, "needs a directory"),
        ("grpc://host", InvalidRequest, "HOST:PORT"),
        ("grpc://host:99999", InvalidRequest, "HOST:PORT"),
        ("grpc://host:1/path", InvalidRequest, "HOST:PORT"),
        ("ftp://x", InvalidRequest, "unknown store URL scheme"),
    ],
)
def test_malformed_urls(url: str, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text):
        open_store(url)
