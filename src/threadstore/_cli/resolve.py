"""Thread ids as people type them: a full id, or a unique prefix of at least 8 characters.

A full id (a UUID, any case) is used as it is, without a lookup. A prefix is looked up by paging
through the store's active and then archived threads (:meth:`ThreadStore.list_threads`); it must
match exactly one thread. New ids are time-ordered (UUIDv7), so threads made within about a
minute of each other share their first 8 characters: the error for an ambiguous prefix names the
candidates so that a longer prefix can be picked.
"""

from __future__ import annotations

import re
from typing import Final

from threadstore._cli.errors import CliFailure
from threadstore._contract.base import ThreadStore
from threadstore._contract.listing import ListThreadsParams
from threadstore._contract.types import MAX_PAGE_SIZE
from threadstore._ids import is_thread_id

__all__ = ["MIN_PREFIX", "resolve_thread_id"]

MIN_PREFIX: Final = 8
_PREFIX_RE: Final = re.compile(r"^[0-9a-f-]{1,36}$")
_SHOWN: Final = 3


async def _matching(store: ThreadStore, prefix: str) -> list[str]:
    found: list[str] = []
    for archived in (False, True):
        cursor: str | None = None
        while True:
            page = await store.list_threads(
                ListThreadsParams(page_size=MAX_PAGE_SIZE, cursor=cursor, archived=archived)
            )
            found.extend(t.thread_id for t in page.items if t.thread_id.startswith(prefix))
            cursor = page.next_cursor
            if not cursor or not page.items:
                break
    return list(dict.fromkeys(found))


async def resolve_thread_id(store: ThreadStore, text: str, where: str) -> str:
    """The id of the one thread of ``store`` (called ``where`` in messages) that ``text`` names.

    Raises :class:`CliFailure`: ``invalid_id`` for text that is no id nor prefix or a prefix
    shorter than :data:`MIN_PREFIX`, ``not_found`` when no thread matches, ``ambiguous_id`` when
    several do."""
    candidate = text.strip().lower()
    if is_thread_id(candidate):
        return candidate
    if not _PREFIX_RE.match(candidate):
        raise CliFailure(
            f"invalid thread id {text!r}: give a thread id (a UUID such as 01a211bf-84ac-7211-aa07-ea80033ee564) "
            f"or its first {MIN_PREFIX} or more characters",
            "invalid_id",
        )
    if len(candidate) < MIN_PREFIX:
        raise CliFailure(f"thread id prefix {text!r} is too short: give at least {MIN_PREFIX} characters", "invalid_id")
    matches = await _matching(store, candidate)
    if not matches:
        raise CliFailure(f"no thread id in {where} starts with {candidate} (see `threadstore list`)", "not_found")
    if len(matches) > 1:
        shown = ", ".join(matches[:_SHOWN])
        more = f" and {len(matches) - _SHOWN} more" if len(matches) > _SHOWN else ""
        raise CliFailure(
            f"thread id prefix {candidate} is ambiguous in {where}: it matches {shown}{more}; give more characters",
            "ambiguous_id",
        )
    return matches[0]
