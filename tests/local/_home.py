"""A generated Codex home: many rollouts over many day directories, written straight to disk as
Codex writes them (names and directories in local time, session_meta times in UTC), with the
facts listings filter on varied, names in ``session_index.jsonl``, threads without a user
message (never listed) and archived threads."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE = datetime(2026, 6, 1, 3, 0, 0, tzinfo=UTC)
CWDS = ("/srv/work/alpha", "/srv/work/beta", "/srv/work/gamma")
PROVIDERS = ("openai", "local-llm")
SOURCES: tuple[object, ...] = ("cli", "vscode", {"subagent": "review"})


@dataclass(frozen=True)
class Made:
    """One generated thread."""

    thread_id: str
    path: Path
    created: datetime
    updated: datetime
    cwd: str
    provider: str
    source: object
    visible: bool
    archived: bool
    prompt: str


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _line(ts: datetime, kind: str, payload: dict[str, object]) -> str:
    return json.dumps({"timestamp": _stamp(ts), "type": kind, "payload": payload}) + "\n"


def rollout(
    home: Path,
    n: int,
    created: datetime,
    *,
    offset_hours: int,
    visible: bool = True,
    archived: bool = False,
    named_time: datetime | None = None,
) -> Made:
    """Write thread ``n`` created at ``created`` (UTC) by a machine ``offset_hours`` east of UTC
    (its name and directory carry that local time, or ``named_time`` when given)."""
    local = named_time or (created + timedelta(hours=offset_hours)).replace(tzinfo=None)
    tid = str(uuid.UUID(int=(int(created.timestamp() * 1000) << 80) | (0x7 << 76) | (0b10 << 62) | n))
    cwd, provider, source = CWDS[n % 3], PROVIDERS[n % 2], SOURCES[n % 3]
    prompt = f"prompt number {n} about topic{n % 17}"
    lines = [
        _line(
            created,
            "session_meta",
            {
                "id": tid,
                "timestamp": _stamp(created),
                "cwd": cwd,
                "originator": "codex_cli_rs",
                "cli_version": "0.125.0",
                "source": source,
                "model_provider": provider,
            },
        ),
        _line(created, "turn_context", {"cwd": cwd, "model": f"model-{n % 4}", "approval_policy": "on-request"}),
    ]
    if visible:
        lines.append(_line(created, "event_msg", {"type": "user_message", "message": prompt, "images": []}))
        lines.append(
            _line(
                created,
                "response_item",
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]},
            )
        )
    updated = created + timedelta(seconds=5 + n % 50)
    lines.append(_line(updated, "event_msg", {"type": "agent_message", "message": f"answer {n} done"}))
    name = f"rollout-{local.strftime('%Y-%m-%dT%H-%M-%S')}-{tid}.jsonl"
    if archived:
        directory = home / "archived_sessions"
    else:
        directory = home / "sessions" / local.strftime("%Y") / local.strftime("%m") / local.strftime("%d")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("".join(lines))
    os.utime(path, (updated.timestamp(), updated.timestamp()))
    return Made(tid, path, created, updated, cwd, provider, source, visible, archived, prompt)


def write_home(home: Path, *, days: int = 40, per_day: int = 25, offset_hours: int = 9) -> list[Made]:
    """``days`` times ``per_day`` threads, one every ``24 h / per_day``, newest last; every tenth
    has no user message, every thirteenth is archived; every seventh is named."""
    made: list[Made] = []
    step = timedelta(hours=24) / per_day
    for n in range(days * per_day):
        created = BASE + step * n + timedelta(milliseconds=n % 997)
        made.append(rollout(home, n, created, offset_hours=offset_hours, visible=n % 10 != 3, archived=n % 13 == 5))
    with open(home / "session_index.jsonl", "w") as f:
        for m in made[::7]:
            f.write(
                json.dumps({"id": m.thread_id, "thread_name": f"name of {m.thread_id[:8]}", "updated_at": "x"}) + "\n"
            )
    return made
