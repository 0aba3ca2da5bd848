"""The web page's application over a real local store, through Starlette's test client: pages,
filters, highlighted search, the forms, errors, the host check and the access token."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

with warnings.catch_warnings():
    # Starlette's test client asks for a successor of httpx that these requests do not need.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from threadstore import ReadThreadParams, StoredThread
from threadstore._backends.local import LocalThreadStore
from threadstore._ui import create_app, is_loopback, parse_listen, serve_ui
from threadstore._ui.security import COOKIE

from .helpers import IDS, seed

LOCAL = "http://127.0.0.1:8765"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    async def main() -> None:
        async with LocalThreadStore(tmp_path / "home") as store:
            await seed(store)

    asyncio.run(main())
    return tmp_path / "home"


@pytest.fixture
def client(home: Path) -> Iterator[TestClient]:
    with TestClient(create_app(lambda: LocalThreadStore(home)), base_url=LOCAL) as test_client:
        yield test_client


def form_token(client: TestClient, thread_id: str) -> str:
    page = client.get(f"/t/{thread_id}").text
    marker = 'name="form_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


def read(home: Path, thread_id: str) -> StoredThread:
    async def main() -> StoredThread:
        async with LocalThreadStore(home) as store:
            return await store.read_thread(ReadThreadParams(thread_id, include_archived=True))

    return asyncio.run(main())


def test_list_filter_and_archived_tab(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Storage work" in page.text
    assert "first idea about caching" in page.text
    assert "an old conversation" not in page.text
    filtered = client.get("/", params={"filter": "caching"}).text
    assert "first idea about caching" in filtered
    assert "Storage work" not in filtered
    archived = client.get("/", params={"archived": "1"}).text
    assert "an old conversation to archive" in archived
    assert "No threads match “zebra”." in client.get("/", params={"filter": "zebra"}).text


def test_search_highlights_the_term(client: TestClient) -> None:
    page = client.get("/", params={"search": "TRIGRAM index"}).text
    assert "Storage work" in page
    assert "<mark>trigram index</mark>" in page
    assert "caching" not in page


def test_thread_page_is_a_transcript_with_escaped_text(client: TestClient) -> None:
    page = client.get(f"/t/{IDS['storage']}").text
    assert "plan the storage layer for &lt;b&gt;many&lt;/b&gt; threads" in page  # escaped, never markup
    assert "A trigram index makes substring search fast." in page
    assert '<details class="tool"><summary><span class="name">shell</span>' in page
    assert "Be a careful agent." not in page
    assert "2 user messages" in page
    assert "Be a careful agent." in client.get(f"/t/{IDS['storage']}", params={"all": "1"}).text


def test_rename_archive_unarchive_delete(client: TestClient, home: Path) -> None:
    tid = IDS["caching"]
    token = form_token(client, tid)
    done = client.post(f"/t/{tid}/rename", data={"name": "Caching plan", "form_token": token}, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, f"/t/{tid}")
    assert read(home, tid).name == "Caching plan"
    assert client.post(f"/t/{tid}/archive", data={"form_token": token}, follow_redirects=False).status_code == 303
    assert read(home, tid).archived
    assert client.post(f"/t/{tid}/unarchive", data={"form_token": token}, follow_redirects=False).status_code == 303
    assert not read(home, tid).archived
    gone = client.post(f"/t/{tid}/delete", data={"form_token": token}, follow_redirects=False)
    assert (gone.status_code, gone.headers["location"]) == (303, "/")
    assert client.get(f"/t/{tid}").status_code == 404


def test_forms_without_the_form_token_change_nothing(client: TestClient, home: Path) -> None:
    tid = IDS["caching"]
    refused = client.post(f"/t/{tid}/delete", data={"form_token": "guess"})
    assert refused.status_code == 400
    assert "reload the page" in refused.text
    assert client.post(f"/t/{tid}/rename", data={"name": "x"}).status_code == 400
    assert read(home, tid).name is None


def test_errors_are_pages(client: TestClient) -> None:
    missing = client.get("/t/01a211bf-0000-7000-8000-000000000000")
    assert missing.status_code == 404
    assert "No such thread" in missing.text
    assert client.get("/t/..%2F..%2Fetc%2Fpasswd").status_code in (400, 404)
    assert client.get("/t/not-an-id").status_code == 400


def test_other_host_names_are_refused_on_loopback(client: TestClient) -> None:
    assert client.get("/", headers={"host": "attacker.example:8765"}).status_code == 403
    assert client.get("/", headers={"host": "localhost:8765"}).status_code == 200
    assert client.get("/", headers={"host": "[::1]:8765"}).status_code == 200


def test_the_access_token(home: Path) -> None:
    app = create_app(lambda: LocalThreadStore(home), token="s3cret", loopback_only_hosts=False)
    with TestClient(app, base_url="http://192.0.2.10:8765") as client:
        assert client.get("/").status_code == 401
        assert client.get("/", params={"token": "wrong"}).status_code == 401
        assert client.get("/", headers={"authorization": "Bearer s3cret"}).status_code == 200
        login = client.get("/", params={"token": "s3cret", "filter": "caching"}, follow_redirects=False)
        assert login.status_code == 303
        assert login.headers["location"] == "/?filter=caching"  # the token leaves the address bar
        assert client.cookies.get(COOKIE) == "s3cret"
        assert "first idea about caching" in client.get("/?filter=caching").text


def test_listen_addresses() -> None:
    assert parse_listen("127.0.0.1:0") == ("127.0.0.1", 0)
    assert parse_listen("[::1]:8765") == ("::1", 8765)
    for bad in ("localhost", ":80", "host:99999", "host:http"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            parse_listen(bad)
    assert is_loopback("127.0.0.2")
    assert is_loopback("localhost")
    assert is_loopback("::1")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("192.0.2.10")


def test_no_token_no_page_off_loopback(home: Path) -> None:
    with pytest.raises(ValueError, match="needs a token"):
        asyncio.run(serve_ui(lambda: LocalThreadStore(home), "0.0.0.0:0", token=None, ready=print))
