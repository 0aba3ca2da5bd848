"""``threadstore app-server`` as a subprocess, driven through stdin/stdout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .client import StdioClient, is_notification

MISSING_ID = "01a211bf-0000-7000-8000-000000000000"


def _text_turn(client: StdioClient, thread_id: str, text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run one turn; return the turn/start result and every message up to turn/completed."""
    result = client.call("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": text}]})
    messages = client.until(is_notification("turn/completed"))
    return result, messages


def _texts(turns: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    out = []
    for turn in turns:
        user = next(i for i in turn["items"] if i["type"] == "userMessage")["content"][0]["text"]
        agent = next(i for i in turn["items"] if i["type"] == "agentMessage")["text"]
        out.append((turn["status"], user, agent))
    return out


def test_handshake_gating_and_errors(tmp_path: Path) -> None:
    with StdioClient(f"local:{tmp_path / 'home'}") as client:
        assert client.error("thread/list") == {"code": -32600, "message": "Not initialized"}
        result = client.initialize()
        assert result["userAgent"].startswith("threadstore/")
        assert result["platformFamily"] in ("unix", "windows")
        assert isinstance(result["platformOs"], str)
        assert client.error("initialize", {}) == {"code": -32600, "message": "Already initialized"}
        assert client.error("thread/teleport", {})["code"] == -32601
        assert client.error("thread/read", {"threadId": 42})["code"] == -32602
        assert client.error("thread/read", {"threadId": "not-a-uuid"})["code"] == -32602
        assert client.error("thread/read", [1, 2])["code"] == -32602
        assert client.error("thread/list", {"sortKey": "size"})["code"] == -32602
        assert client.error("turn/start", {"threadId": MISSING_ID, "input": []})["code"] == -32602
        missing = client.error("thread/read", {"threadId": MISSING_ID})
        assert missing == {"code": -32600, "message": f"thread not found: {MISSING_ID}"}
        assert client.error("thread/resume", {"threadId": MISSING_ID})["code"] == -32600
        assert (
            "not loaded"
            in client.error("turn/start", {"threadId": MISSING_ID, "input": [{"type": "text", "text": "x"}]})["message"]
        )
        client.send_raw(b"{not json\n")
        parse = client.wait(lambda m: m.get("id") is None and "error" in m)
        assert parse["error"]["code"] == -32700
        client.send_raw(b'{"id": 99}\n')
        assert client.response(99)["error"]["code"] == -32600
        # The server keeps serving after bad input.
        assert client.call("thread/loaded/list") == {"data": [], "nextCursor": None}
        assert client.close() == 0


def test_conversation_notifications_and_persistence(tmp_path: Path) -> None:
    url = f"local:{tmp_path / 'home'}"
    with StdioClient(url) as client:
        client.initialize()
        started = client.call("thread/start", {"cwd": str(tmp_path)})
        thread = started["thread"]
        thread_id = thread["id"]
        assert started["modelProvider"] == "builtin"
        assert started["cwd"] == str(tmp_path)
        assert thread["status"] == {"type": "idle"}
        assert thread["turns"] == []
        assert thread["preview"] == ""
        assert client.notification("thread/started")["params"]["thread"]["id"] == thread_id

        result, messages = _text_turn(client, thread_id, "hi there")
        turn = result["turn"]
        assert turn["status"] == "inProgress"
        assert turn["items"] == []
        methods = [m["method"] for m in messages]
        assert methods[:3] == ["turn/started", "item/started", "item/completed"]
        assert methods[-2:] == ["thread/tokenUsage/updated", "turn/completed"]
        assert methods[3] == "item/started"
        assert set(methods[4:-3]) == {"item/agentMessage/delta"}
        assert methods[-3] == "item/completed"
        assert all(m["params"]["threadId"] == thread_id for m in messages)
        assert messages[0]["params"]["turn"]["id"] == turn["id"]
        user_item = messages[1]["params"]["item"]
        assert user_item["type"] == "userMessage"
        assert user_item["content"] == [{"type": "text", "text": "hi there", "text_elements": []}]
        agent_id = messages[3]["params"]["item"]["id"]
        deltas = [m["params"] for m in messages if m["method"] == "item/agentMessage/delta"]
        assert all(d["itemId"] == agent_id and d["turnId"] == turn["id"] for d in deltas)
        completed_item = messages[-3]["params"]["item"]
        assert completed_item == {
            "type": "agentMessage",
            "id": agent_id,
            "text": "echo: hi there",
            "phase": None,
            "memoryCitation": None,
        }
        assert "".join(d["delta"] for d in deltas) == "echo: hi there"
        assert messages[-2]["params"]["tokenUsage"]["total"]["totalTokens"] > 0
        done = messages[-1]["params"]["turn"]
        assert done["id"] == turn["id"]
        assert done["status"] == "completed"
        assert done["error"] is None

        _text_turn(client, thread_id, "second")
        read = client.call("thread/read", {"threadId": thread_id, "includeTurns": True})["thread"]
        assert read["status"] == {"type": "idle"}
        assert read["preview"] == "hi there"
        assert read["turns"][0]["id"] == turn["id"]
        assert _texts(read["turns"]) == [
            ("completed", "hi there", "echo: hi there"),
            ("completed", "second", "echo: second"),
        ]
        assert client.call("thread/read", {"threadId": thread_id})["thread"]["turns"] == []
        assert client.call("thread/loaded/list") == {"data": [thread_id], "nextCursor": None}
        assert client.close() == 0

    # Everything was stored; a new server resumes the thread and goes on.
    with StdioClient(url) as client:
        client.initialize()
        read = client.call("thread/read", {"threadId": thread_id, "includeTurns": True})["thread"]
        assert read["status"] == {"type": "notLoaded"}
        assert len(read["turns"]) == 2
        resumed = client.call("thread/resume", {"threadId": thread_id})
        assert resumed["thread"]["status"] == {"type": "idle"}
        assert _texts(resumed["thread"]["turns"])[1] == ("completed", "second", "echo: second")
        # Rejoining a loaded thread returns it as it is.
        assert client.call("thread/resume", {"threadId": thread_id})["thread"]["id"] == thread_id
        _text_turn(client, thread_id, "third")
        read = client.call("thread/read", {"threadId": thread_id, "includeTurns": True})["thread"]
        assert [t[1] for t in _texts(read["turns"])] == ["hi there", "second", "third"]
        assert client.close() == 0


def test_list_name_archive_unarchive_fork(tmp_path: Path) -> None:
    with StdioClient(f"local:{tmp_path / 'home'}") as client:
        client.initialize()
        ids = []
        for text in ("alpha topic", "beta topic"):
            thread_id = client.call("thread/start", {"cwd": str(tmp_path)})["thread"]["id"]
            _text_turn(client, thread_id, text)
            ids.append(thread_id)
        first, second = ids

        assert client.call("thread/name/set", {"threadId": first, "name": "Alpha work"}) == {}
        named = client.notification("thread/name/updated")["params"]
        assert named == {"threadId": first, "threadName": "Alpha work"}
        assert client.error("thread/name/set", {"threadId": first, "name": "  "})["code"] == -32600

        page = client.call("thread/list", {})
        assert [t["id"] for t in page["data"]] == [second, first]  # newest first
        assert page["data"][1]["name"] == "Alpha work"
        assert page["data"][1]["status"] == {"type": "idle"}
        assert page["data"][0]["source"] == "vscode"
        assert page["data"][0]["turns"] == []
        one = client.call("thread/list", {"limit": 1, "sortKey": "updated_at"})
        assert len(one["data"]) == 1
        assert one["nextCursor"]
        rest = client.call("thread/list", {"limit": 1, "sortKey": "updated_at", "cursor": one["nextCursor"]})
        assert {one["data"][0]["id"], rest["data"][0]["id"]} == set(ids)
        assert [t["id"] for t in client.call("thread/list", {"sortDirection": "asc"})["data"]] == [first, second]
        assert [t["id"] for t in client.call("thread/list", {"searchTerm": "ALPHA"})["data"]] == [first]
        assert client.call("thread/list", {"sourceKinds": ["exec"]})["data"] == []
        assert client.call("thread/list", {"modelProviders": ["other"]})["data"] == []
        assert len(client.call("thread/list", {"cwd": str(tmp_path)})["data"]) == 2

        # Archiving a loaded thread shuts it down first.
        assert client.call("thread/archive", {"threadId": first}) == {}
        assert client.notification("thread/archived")["params"] == {"threadId": first}
        assert client.call("thread/loaded/list")["data"] == [second]
        assert [t["id"] for t in client.call("thread/list")["data"]] == [second]
        archived = client.call("thread/list", {"archived": True})["data"]
        assert [t["id"] for t in archived] == [first]
        assert archived[0]["status"] == {"type": "notLoaded"}
        read = client.call("thread/read", {"threadId": first, "includeTurns": True})["thread"]
        assert _texts(read["turns"]) == [("completed", "alpha topic", "echo: alpha topic")]
        unarchived = client.call("thread/unarchive", {"threadId": first})["thread"]
        assert unarchived["id"] == first
        assert unarchived["name"] == "Alpha work"
        assert client.notification("thread/unarchived")["params"] == {"threadId": first}
        assert {t["id"] for t in client.call("thread/list")["data"]} == set(ids)
        # Renaming a cold thread works too.
        assert client.call("thread/name/set", {"threadId": first, "name": "Renamed"}) == {}
        assert client.call("thread/read", {"threadId": first})["thread"]["name"] == "Renamed"

        forked = client.call("thread/fork", {"threadId": second})
        fork = forked["thread"]
        assert fork["id"] not in ids
        assert fork["forkedFromId"] == second
        assert _texts(fork["turns"]) == [("completed", "beta topic", "echo: beta topic")]
        assert client.notification("thread/started")["params"]["thread"]["id"] == fork["id"]
        _text_turn(client, fork["id"], "on the fork")
        assert len(client.call("thread/read", {"threadId": second, "includeTurns": True})["thread"]["turns"]) == 1
        assert client.close() == 0


def test_rollback(tmp_path: Path) -> None:
    with StdioClient(f"local:{tmp_path / 'home'}") as client:
        client.initialize()
        thread_id = client.call("thread/start", {"cwd": str(tmp_path)})["thread"]["id"]
        for text in ("one", "two", "three"):
            _text_turn(client, thread_id, text)
        assert client.error("thread/rollback", {"threadId": thread_id, "numTurns": 0})["code"] == -32600
        assert client.error("thread/rollback", {"threadId": thread_id})["code"] == -32602
        result = client.call("thread/rollback", {"threadId": thread_id, "numTurns": 2})
        assert [t[1] for t in _texts(result["thread"]["turns"])] == ["one"]
        _text_turn(client, thread_id, "four")
        read = client.call("thread/read", {"threadId": thread_id, "includeTurns": True})["thread"]
        assert [t[1] for t in _texts(read["turns"])] == ["one", "four"]
        client.call("thread/archive", {"threadId": thread_id})
        # A thread that is not loaded cannot be rolled back.
        assert "not loaded" in client.error("thread/rollback", {"threadId": thread_id, "numTurns": 1})["message"]
        assert client.close() == 0


def test_reads_a_codex_home(codex_home: tuple[Path, dict[str, Any]]) -> None:
    home, expected = codex_home
    with StdioClient(f"local:{home}") as client:
        client.initialize()
        listed = {t["id"] for t in client.call("thread/list", {"limit": 100})["data"]}
        assert listed == {expected["ids"][k] for k in "ABCE"}
        archived = client.call("thread/list", {"archived": True})["data"]
        assert [t["id"] for t in archived] == [expected["ids"]["D"]]
        for key in "ABCDE":
            read = client.call("thread/read", {"threadId": expected["ids"][key], "includeTurns": True})["thread"]
            assert read["turns"] == expected["reads"][key]["thread"]["turns"]
        assert client.close() == 0
