"""Write a Codex home of N threads in the Codex 0.125 rollout format, fast (standard library only).

Each thread is one real-looking turn of 16 rollout lines, with the line shapes of the 0.125
fixtures (``tests/fixtures/codex-homes/codex-0.125.0``): ``session_meta``, ``task_started``, the
developer and environment messages, ``turn_context``, the prompt (response item and
``user_message`` event), a ``token_count`` without info, a reasoning item, one ``function_call``
and its output, two ``token_count`` events with usage, the answer (``agent_message`` and the
assistant message) and ``task_complete``. ``heavy=True`` adds what a real Codex build writes
into every session: the ~21 KB base instructions and the ~5 KB developer message; without it a
thread is about 6 KB.

Files go straight to ``sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl`` with their modification
time set to the last line's time, as if written long ago. Nothing else is created (no index, no
``session_index.jsonl``, no ``state_*.sqlite``): a home as a Codex user has it, never indexed.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from .corpus import message_text, thread_created, thread_uuid, turn

__all__ = ["ITEMS_PER_THREAD", "rollout_text", "thread_ids", "write_home"]

ITEMS_PER_THREAD: Final = 16

_CWDS: Final = tuple(f"/home/dev/src/project-{k}" for k in range(8))
_BASE_INSTRUCTIONS: Final = message_text("base-instructions", 21_000)
_DEVELOPER_HEAVY: Final = message_text("developer-heavy", 5_000)
_DEVELOPER_LIGHT: Final = message_text("developer-light", 400)


def _dump(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _usage(total: int) -> dict[str, object]:
    last = {"input_tokens": 900, "cached_input_tokens": 0, "output_tokens": 120, "reasoning_output_tokens": 40}
    return {
        "total_token_usage": {**{k: v * total for k, v in last.items()}, "total_tokens": 1020 * total},
        "last_token_usage": {**last, "total_tokens": 1020},
        "model_context_window": 258400,
    }


_RATE_LIMITS: Final = {
    "limit_id": "codex",
    "limit_name": None,
    "primary": None,
    "secondary": None,
    "credits": None,
    "plan_type": None,
    "rate_limit_reached_type": None,
}


def rollout_text(dataset: str, n: int, total: int, *, heavy: bool) -> tuple[str, datetime, str]:
    """Thread ``n`` of ``total`` as rollout text, with its creation time and id."""
    created = thread_created(n, total)
    tid = thread_uuid(dataset, n, created)
    cwd = _CWDS[n % len(_CWDS)]
    texts = turn(f"{dataset}/{n}")
    turn_id = thread_uuid(dataset + "/turn", n, created)
    call_id = f"call_{tid.replace('-', '')[:24]}"
    started = int(created.timestamp())
    meta: dict[str, object] = {
        "id": tid,
        "timestamp": _stamp(created),
        "cwd": cwd,
        "originator": "codex_cli_rs",
        "cli_version": "0.125.0",
        "source": "cli",
        "model_provider": "openai",
    }
    if heavy:
        meta["base_instructions"] = {"text": _BASE_INSTRUCTIONS}
    meta["git"] = {
        "commit_hash": f"{n:040x}",
        "branch": "main",
        "repository_url": "https://example.com/dev/project.git",
    }
    environment = f"<environment_context>\n  <cwd>{cwd}</cwd>\n  <shell>bash</shell>\n</environment_context>"
    context = {
        "turn_id": turn_id,
        "cwd": cwd,
        "current_date": created.strftime("%Y-%m-%d"),
        "timezone": "Etc/UTC",
        "approval_policy": "on-request",
        "sandbox_policy": {"type": "workspace-write"},
        "model": "gpt-5.2-codex",
        "personality": "pragmatic",
        "collaboration_mode": {"mode": "default", "settings": {"model": "gpt-5.2-codex", "reasoning_effort": "medium"}},
        "realtime_active": False,
        "summary": "auto",
        "truncation_policy": {"mode": "bytes", "limit": 10000},
    }
    lines: list[tuple[str, object]] = [
        ("session_meta", meta),
        (
            "event_msg",
            {
                "type": "task_started",
                "turn_id": turn_id,
                "started_at": started,
                "model_context_window": 258400,
                "collaboration_mode_kind": "default",
            },
        ),
        (
            "response_item",
            {
                "type": "message",
                "role": "developer",
                "content": [{"type": "input_text", "text": _DEVELOPER_HEAVY if heavy else _DEVELOPER_LIGHT}],
            },
        ),
        (
            "response_item",
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": environment}]},
        ),
        ("turn_context", context),
        (
            "response_item",
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": texts.prompt}]},
        ),
        (
            "event_msg",
            {"type": "user_message", "message": texts.prompt, "images": [], "local_images": [], "text_elements": []},
        ),
        ("event_msg", {"type": "token_count", "info": None, "rate_limits": _RATE_LIMITS}),
        (
            "response_item",
            {
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": texts.reasoning[:80]}],
                "content": None,
                "encrypted_content": texts.reasoning,
            },
        ),
        (
            "response_item",
            {
                "type": "function_call",
                "name": "exec_command",
                "arguments": _dump({"cmd": texts.command}),
                "call_id": call_id,
            },
        ),
        ("response_item", {"type": "function_call_output", "call_id": call_id, "output": texts.output}),
        ("event_msg", {"type": "token_count", "info": _usage(1), "rate_limits": _RATE_LIMITS}),
        ("event_msg", {"type": "agent_message", "message": texts.answer, "phase": None, "memory_citation": None}),
        (
            "response_item",
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": texts.answer}]},
        ),
        ("event_msg", {"type": "token_count", "info": _usage(2), "rate_limits": _RATE_LIMITS}),
        (
            "event_msg",
            {
                "type": "task_complete",
                "turn_id": turn_id,
                "last_agent_message": texts.answer,
                "completed_at": started + 9,
                "duration_ms": 9000,
                "time_to_first_token_ms": 800,
            },
        ),
    ]
    out = []
    for k, (kind, payload) in enumerate(lines):
        moment = created + timedelta(milliseconds=600 * k)
        out.append(f'{{"timestamp":"{_stamp(moment)}","type":"{kind}","payload":{_dump(payload)}}}\n')
    return "".join(out), created, tid


def _write_range(home: str, dataset: str, start: int, stop: int, total: int, heavy: bool) -> int:
    made: set[str] = set()
    written = 0
    for n in range(start, stop):
        text, created, tid = rollout_text(dataset, n, total, heavy=heavy)
        day = os.path.join(home, "sessions", created.strftime("%Y"), created.strftime("%m"), created.strftime("%d"))
        if day not in made:
            os.makedirs(day, exist_ok=True)
            made.add(day)
        path = os.path.join(day, f"rollout-{created.strftime('%Y-%m-%dT%H-%M-%S')}-{tid}.jsonl")
        data = text.encode()
        with open(path, "wb") as handle:
            handle.write(data)
        last = (created + timedelta(milliseconds=600 * (ITEMS_PER_THREAD - 1))).timestamp()
        os.utime(path, (last, last))
        written += len(data)
    return written


def write_home(home: Path, count: int, *, dataset: str = "home", heavy: bool = False, workers: int = 2) -> int:
    """Write ``count`` threads under ``home/sessions`` and return the bytes written."""
    home.mkdir(parents=True, exist_ok=True)
    if count < 2000 or workers <= 1:
        return _write_range(str(home), dataset, 0, count, count, heavy)
    step = -(-count // (workers * 4))
    with ProcessPoolExecutor(workers) as pool:
        futures = [
            pool.submit(_write_range, str(home), dataset, start, min(start + step, count), count, heavy)
            for start in range(0, count, step)
        ]
        return sum(f.result() for f in futures)


def thread_ids(count: int, *, dataset: str = "home") -> list[str]:
    """The ids ``write_home`` gives, oldest first."""
    return [thread_uuid(dataset, n, thread_created(n, count)) for n in range(count)]
