"""The page's handlers: the thread list (filter, full-text search), one thread as a transcript,
and the forms that rename, archive, unarchive and delete.

Reads are ``GET``; changes are ``POST`` forms answered with a redirect (303) to the page to
show next, so that reloading never repeats a change. Store errors become error pages: an unknown
thread 404, a refused request 400.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from threadstore._contract.base import ThreadStore
from threadstore._contract.listing import ListThreadsParams, SearchThreadsParams
from threadstore._contract.patch import ThreadMetadataPatch, UpdateThreadMetadataParams
from threadstore._contract.types import ReadThreadParams, StoredThread, source_kind
from threadstore._ids import validate_thread_id
from threadstore._time import format_rfc3339
from threadstore._ui.security import Guard
from threadstore._view import (
    match_spans,
    relative_time,
    short_path,
    shown_labels,
    thread_facts,
    thread_title,
    transcript,
    user_turns,
)
from threadstore.errors import InvalidRequest

__all__ = ["archive", "delete", "rename", "thread_list", "thread_page", "unarchive"]

PAGE_SIZE: Final = 50


def _store(request: Request) -> ThreadStore:
    store: ThreadStore = request.app.state.store
    return store


def _guard(request: Request) -> Guard:
    guard: Guard = request.app.state.guard
    return guard


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    context = {"form_token": _guard(request).form_token, **context}
    response: Response = request.app.state.templates.TemplateResponse(request, name, context, status_code=status)
    return response


def _row(thread: StoredThread, now: datetime) -> dict[str, Any]:
    return {
        "id": thread.thread_id,
        "title": thread_title(thread),
        "updated": relative_time(thread.updated_at, now),
        "updated_at": format_rfc3339(thread.updated_at),
        "created": relative_time(thread.created_at, now),
        "cwd": short_path(thread.cwd),
        "source": source_kind(thread.source),
        "provider": thread.model_provider,
        "archived": thread.archived,
        "labels": [(f"{key}={value}", urlencode({"label": f"{key}={value}"})) for key, value in shown_labels(thread.labels).items()],
    }


def _parts(text: str, term: str) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, is a match of ``term``) for highlighting."""
    parts: list[tuple[str, bool]] = []
    last = 0
    for start, end in match_spans(text, term):
        if start > last:
            parts.append((text[last:start], False))
        parts.append((text[start:end], True))
        last = end
    if last < len(text):
        parts.append((text[last:], False))
    return parts


async def thread_list(request: Request) -> Response:
    """``/``: threads, newest first; ``?filter=`` (name or preview), ``?search=`` (messages),
    ``?archived=1``, ``?sort=updated_at``, ``?cursor=``."""
    query = request.query_params
    archived = query.get("archived") == "1"
    text_filter = query.get("filter", "").strip()
    search = query.get("search", "").strip()
    sort = "updated_at" if query.get("sort") == "updated_at" else "created_at"
    cursor = query.get("cursor") or None
    labels = _labels(query.getlist("label"))
    labels_query = "".join(f"&{urlencode({'label': f'{k}={v}'})}" for k, v in sorted((labels or {}).items()))
    now = datetime.now(UTC)
    store = _store(request)
    rows: list[dict[str, Any]] = []
    if search:
        found = await store.search_threads(
            SearchThreadsParams(
                search_term=search, page_size=PAGE_SIZE, cursor=cursor, archived=archived, labels=labels
            )
        )
        for hit in found.items:
            rows.append({**_row(hit.thread, now), "snippet": _parts(" ".join(hit.snippet.split()), search)})
        next_cursor = found.next_cursor
    else:
        page = await store.list_threads(
            ListThreadsParams(
                page_size=PAGE_SIZE,
                cursor=cursor,
                sort_key=sort,  # type: ignore[arg-type]  # one of the two keys
                archived=archived,
                search_term=text_filter or None,
                labels=labels,
            )
        )
        rows = [_row(t, now) for t in page.items]
        next_cursor = page.next_cursor
    context = {
        "rows": rows,
        "archived": archived,
        "filter": text_filter,
        "search": search,
        "sort": sort,
        "next_cursor": next_cursor,
        "labels": sorted((labels or {}).items()),
        "labels_query": labels_query,
    }
    return _render(request, "list.html", context)


def _labels(texts: list[str]) -> dict[str, str] | None:
    """``?label=KEY=VALUE`` parameters as a label filter."""
    labels: dict[str, str] = {}
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise InvalidRequest(f"a label filter is KEY=VALUE, got {text!r}")
        labels[key] = value
    return labels or None


def _thread_id(request: Request) -> str:
    return validate_thread_id(request.path_params["thread_id"])


async def thread_page(request: Request) -> Response:
    """``/t/{id}``: the thread as a transcript (``?all=1`` adds the hidden prompts)."""
    show_all = request.query_params.get("all") == "1"
    thread = await _store(request).read_thread(
        ReadThreadParams(_thread_id(request), include_archived=True, include_history=True)
    )
    entries = transcript(thread.history.items if thread.history else [], include_hidden=show_all)
    now = datetime.now(UTC)
    context = {
        "thread": _row(thread, now),
        "facts": thread_facts(thread, lambda value: relative_time(value, now)),
        "entries": entries,
        "turns": user_turns(entries),
        "show_all": show_all,
    }
    return _render(request, "thread.html", context)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    if not _guard(request).form_ok(form.get("form_token")):
        raise InvalidRequest("this form has expired: reload the page and try again")
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _back(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


async def rename(request: Request) -> Response:
    """``POST /t/{id}/rename`` with ``name`` (empty clears the name)."""
    form = await _form(request)
    thread_id = _thread_id(request)
    name = form.get("name", "").strip()
    patch = ThreadMetadataPatch(name=name or None)
    await _store(request).update_thread_metadata(UpdateThreadMetadataParams(thread_id, patch, include_archived=True))
    return _back(f"/t/{thread_id}")


async def archive(request: Request) -> Response:
    """``POST /t/{id}/archive``."""
    await _form(request)
    thread_id = _thread_id(request)
    await _store(request).archive_thread(thread_id)
    return _back(f"/t/{thread_id}")


async def unarchive(request: Request) -> Response:
    """``POST /t/{id}/unarchive``."""
    await _form(request)
    thread_id = _thread_id(request)
    await _store(request).unarchive_thread(thread_id)
    return _back(f"/t/{thread_id}")


async def delete(request: Request) -> Response:
    """``POST /t/{id}/delete``; back to the list."""
    await _form(request)
    await _store(request).delete_thread(_thread_id(request))
    return _back("/")
