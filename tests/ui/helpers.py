"""Seeding a store for the web page's tests."""

from __future__ import annotations

import json

from threadstore import AppendThreadItemsParams, CreateThreadParams, ThreadMetadataPatch, ThreadStore, items
from threadstore._contract.patch import UpdateThreadMetadataParams

IDS = {
    "storage": "01a211bf-81da-7c93-9c38-b2117fbac6d3",
    "caching": "01a211bf-8341-7ed1-961c-fbeaabf490cf",
    "old": "01a211bf-84ac-7211-aa07-ea80033ee564",
}


async def seed(store: ThreadStore) -> dict[str, str]:
    """Three threads: a named one with a tool call, a plain one, an archived one."""
    conversations = {
        "storage": [
            items.user_message("plan the storage layer for <b>many</b> threads"),
            items.event("agent_reasoning", text="Think about indexes first."),
            items.response_item(
                "function_call", name="shell", arguments=json.dumps({"command": ["ls", "src"]}), call_id="c1"
            ),
            items.response_item("function_call_output", call_id="c1", output="store.py\nindex.py\n"),
            items.agent_message("Use an append-only log and a SQLite index over it."),
            items.user_message("and the search?"),
            items.agent_message("A trigram index makes substring search fast."),
        ],
        "caching": [items.user_message("first idea about caching"), items.agent_message("Cache the listing.")],
        "old": [items.user_message("an old conversation to archive"), items.agent_message("Archived soon.")],
    }
    for key, history in conversations.items():
        tid = IDS[key]
        await store.create_thread(
            CreateThreadParams(
                thread_id=tid, cwd="/srv/demo-project", model_provider="openai", base_instructions="Be a careful agent."
            )
        )
        await store.append_items(AppendThreadItemsParams(tid, history))
        await store.shutdown_thread(tid)
    await store.update_thread_metadata(
        UpdateThreadMetadataParams(IDS["storage"], ThreadMetadataPatch(name="Storage work"))
    )
    await store.archive_thread(IDS["old"])
    return IDS
