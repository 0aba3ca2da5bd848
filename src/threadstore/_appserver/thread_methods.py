"""Thread lifecycle and metadata methods: ``thread/start``, ``thread/resume``, ``thread/fork``,
``thread/archive``, ``thread/unarchive``, ``thread/delete``, ``thread/unsubscribe``,
``thread/name/set`` and ``thread/metadata/update``.

Starting, resuming (rejoining a loaded thread included) and forking subscribe the calling
connection to the thread. Catalogue changes are broadcast to every connection after the answer:
``thread/started``, ``thread/archived``, ``thread/unarchived``, ``thread/deleted``,
``thread/name/updated``. Archiving or deleting a loaded thread first shuts it down (bounded),
as Codex does; an ephemeral thread has nothing stored and is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from threadstore._appserver.context import Reply, RequestContext
from threadstore._appserver.errors import RpcError
from threadstore._appserver.group import MethodGroup
from threadstore._appserver.params import Params
from threadstore._contract.patch import UNSET, GitInfoPatch, ThreadMetadataPatch
from threadstore._contract.types import MemoryMode
from threadstore.errors import ThreadNotFound

__all__ = ["ThreadMethods"]

_GIT_FIELDS = (("sha", "sha"), ("branch", "branch"), ("originUrl", "origin_url"))


def _git_patch(value: Mapping[str, Any]) -> GitInfoPatch:
    """``gitInfo`` of ``thread/metadata/update``: omitted = keep, null = clear, a value (trimmed,
    not empty) = set; at least one field."""
    fields: dict[str, str | None] = {}
    for key, name in _GIT_FIELDS:
        if key not in value:
            continue
        given = value[key]
        if given is None:
            fields[name] = None
        elif isinstance(given, str):
            if not given.strip():
                raise RpcError.invalid_request(f"gitInfo.{key} must not be empty")
            fields[name] = given.strip()
        else:
            raise RpcError.invalid_params(f"Invalid params: `gitInfo.{key}` must be a string or null")
    if not fields:
        raise RpcError.invalid_request("gitInfo must include at least one field")
    return GitInfoPatch(**{name: fields.get(name, UNSET) for _, name in _GIT_FIELDS})


class ThreadMethods(MethodGroup):
    async def thread_start(self, params: Params, ctx: RequestContext) -> Reply:
        thread = await self.manager.start_thread(self.thread_config(params))
        self.load(thread, ctx.member)
        shown = await self.views.read(thread.thread_id, include_turns=False)
        return Reply(
            self.session_result(thread, shown), lambda: self.hub.broadcast("thread/started", {"thread": shown})
        )

    async def thread_resume(self, params: Params, ctx: RequestContext) -> Reply:
        thread_id = params.thread_id()
        loaded = self.hub.registry.get(thread_id)
        thread = loaded.thread if loaded is not None else await self.manager.resume_thread(thread_id)
        self.load(thread, ctx.member)
        shown = await self.views.read(thread_id, include_turns=True)
        return Reply(self.session_result(thread, shown))

    async def thread_fork(self, params: Params, ctx: RequestContext) -> Reply:
        source_id = params.thread_id()
        # A source with an unfinished turn is forked with an interrupted boundary.
        thread = await self.manager.fork_thread(source_id)
        self.load(thread, ctx.member)
        shown = await self.views.read(thread.thread_id, include_turns=True)
        started = dict(shown, turns=[])
        return Reply(
            self.session_result(thread, shown), lambda: self.hub.broadcast("thread/started", {"thread": started})
        )

    async def _unload_for(self, thread_id: str, operation: str) -> bool:
        """Shut ``thread_id`` down when it is loaded (refusing an ephemeral one); True when it was."""
        loaded = self.hub.registry.get(thread_id)
        if loaded is None:
            return False
        if loaded.thread.ephemeral:
            raise RpcError.invalid_request(f"thread {thread_id} is ephemeral: there is nothing to {operation}")
        await self.hub.unload(loaded)
        return True

    async def thread_archive(self, params: Params, ctx: RequestContext) -> Reply:
        thread_id = params.thread_id()
        await self._unload_for(thread_id, "archive")
        await self.manager.store.archive_thread(thread_id)
        return Reply({}, lambda: self.hub.broadcast("thread/archived", {"threadId": thread_id}))

    async def thread_unarchive(self, params: Params, ctx: RequestContext) -> Reply:
        thread_id = params.thread_id()
        stored = await self.manager.store.unarchive_thread(thread_id)
        shown = self.views.to_json(stored, include_turns=False)
        return Reply({"thread": shown}, lambda: self.hub.broadcast("thread/unarchived", {"threadId": thread_id}))

    async def thread_delete(self, params: Params, ctx: RequestContext) -> Reply:
        """Delete a thread and everything stored for it (archived or not). A loaded thread is
        shut down first; one that had stored nothing yet is deleted by that alone."""
        thread_id = params.thread_id()
        was_loaded = await self._unload_for(thread_id, "delete")
        try:
            await self.manager.store.delete_thread(thread_id)
        except ThreadNotFound:
            if not was_loaded:
                raise
        return Reply({}, lambda: self.hub.broadcast("thread/deleted", {"threadId": thread_id}))

    async def thread_unsubscribe(self, params: Params, ctx: RequestContext) -> Reply:
        thread_id = params.thread_id()
        if self.hub.registry.get(thread_id) is None:
            return Reply({"status": "notLoaded"})
        was_subscribed = self.hub.unsubscribe(ctx.member, thread_id)
        return Reply({"status": "unsubscribed" if was_subscribed else "notSubscribed"})

    async def thread_name_set(self, params: Params, ctx: RequestContext) -> Reply:
        thread_id = params.thread_id()
        name = params.string("name")
        if not name.strip():
            raise RpcError.invalid_request("thread name must not be empty")
        await self.manager.update_thread_metadata(thread_id, ThreadMetadataPatch(name=name))
        named = {"threadId": thread_id, "threadName": name}
        return Reply({}, lambda: self.hub.broadcast("thread/name/updated", named))

    async def thread_memory_mode_set(self, params: Params, ctx: RequestContext) -> Reply:
        """Whether the thread feeds memories (``mode``: ``enabled`` / ``disabled``); loaded or
        cold, archived too. Answers ``{}``."""
        thread_id = params.thread_id()
        text = params.string("mode")
        mode: MemoryMode | None = "enabled" if text == "enabled" else "disabled" if text == "disabled" else None
        if mode is None:
            raise RpcError.invalid_params(f"Invalid params: unknown variant `{text}`, expected `enabled` or `disabled`")
        await self.manager.update_thread_metadata(thread_id, ThreadMetadataPatch(memory_mode=mode))
        return Reply({})

    async def thread_metadata_update(self, params: Params, ctx: RequestContext) -> Reply:
        """Patch a thread's git facts (loaded or cold, archived too); answers ``{thread}``."""
        thread_id = params.thread_id()
        if params.raw.get("projectId") is not None:
            raise RpcError.invalid_request("projectId is not supported: this server keeps no projects")
        git = params.opt_object("gitInfo")
        if git is None:
            raise RpcError.invalid_request("thread metadata update must include at least one field")
        patch = ThreadMetadataPatch(git_info=_git_patch(git))
        stored = await self.manager.update_thread_metadata(thread_id, patch)
        return Reply({"thread": self.views.to_json(stored, include_turns=False)})
