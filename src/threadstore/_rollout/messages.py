"""What the messages of a thread say: the text of a message item or event, which user texts are
context Codex injects rather than something a person said, and the texts full-text search
covers. Shared by the summary fold, search, rollback, the transcript and the model history."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from threadstore._rollout.claude import CLAUDE_ENTRY, entry_texts

__all__ = [
    "CONTEXTUAL_PREFIXES",
    "USER_MESSAGE_BEGIN",
    "is_message",
    "message_text",
    "response_user_text",
    "search_texts",
    "strip_marker",
    "user_event_text",
]

USER_MESSAGE_BEGIN: Final = "## My request for Codex:"

CONTEXTUAL_PREFIXES: Final = (
    "<environment_context>",
    "<user_instructions>",
    "<permissions instructions>",
    "<collaboration_mode>",
    "<apps_instructions>",
    "<skills_instructions>",
    "<INSTRUCTIONS>",
    "# AGENTS.md instructions",
    "<user_shell_command>",
    "<skill>",
    "<turn_aborted>",
    "<subagent_notification>",
    "<personality",
)


def strip_marker(text: str) -> str:
    index = text.find(USER_MESSAGE_BEGIN)
    if index >= 0:
        text = text[index + len(USER_MESSAGE_BEGIN) :]
    return text.strip()


def is_message(payload: Mapping[str, Any]) -> bool:
    """Whether a response-item payload is a ``message``: typed ``"type": "message"``, or the
    Responses API's "easy" input message, ``{"role", "content"}`` without a type (the OpenAI
    Agents SDK stores user input so; its ``content`` may be a plain string)."""
    kind = payload.get("type")
    return kind == "message" or (kind is None and "role" in payload and "content" in payload)


def message_text(payload: Mapping[str, Any]) -> str:
    """The text parts of a response ``message`` joined by spaces."""
    content = payload.get("content")
    if isinstance(content, str):
        return content
    parts: list[str] = []
    if isinstance(content, list):
        for part in content:
            if isinstance(part, Mapping):
                text = part.get("text")
                if isinstance(text, str):
                    parts.append(text)
    return " ".join(parts)


def user_event_text(item: Mapping[str, Any]) -> tuple[str, bool] | None:
    """For a user-message event (``user_message``, or a newer ``item_completed`` carrying a
    ``UserMessage``), the message text and whether it carried images; else None."""
    if item.get("type") != "event_msg":
        return None
    payload = item.get("payload")
    if not isinstance(payload, Mapping):
        return None
    kind = payload.get("type")
    if kind == "user_message":
        text = payload.get("message")
        images = bool(payload.get("images")) or bool(payload.get("local_images"))
        return (text if isinstance(text, str) else "", images)
    if kind == "item_completed":
        inner = payload.get("item")
        if isinstance(inner, Mapping) and inner.get("type") == "UserMessage":
            texts: list[str] = []
            images = False
            for part in inner.get("content") or ():
                if isinstance(part, Mapping):
                    if isinstance(part.get("text"), str):
                        texts.append(part["text"])
                    elif part.get("type") in ("image", "local_image", "localImage"):
                        images = True
            return (" ".join(texts), images)
    return None


def response_user_text(item: Mapping[str, Any]) -> str | None:
    if item.get("type") != "response_item":
        return None
    payload = item.get("payload")
    if not isinstance(payload, Mapping) or not is_message(payload) or payload.get("role") != "user":
        return None
    text = message_text(payload).strip()
    if not text or text.startswith(CONTEXTUAL_PREFIXES):
        return None
    return text


def search_texts(item: Mapping[str, Any]) -> list[str]:
    """The conversational texts of an item that full-text search covers: user and agent messages
    (events) and user/assistant response messages."""
    kind = item.get("type")
    payload = item.get("payload")
    if not isinstance(payload, Mapping):
        return []
    if kind == CLAUDE_ENTRY:
        return entry_texts(payload)
    if kind == "event_msg":
        event = payload.get("type")
        if event in ("user_message", "agent_message"):
            text = payload.get("message")
            return [strip_marker(text)] if isinstance(text, str) and text.strip() else []
        return []
    if kind == "response_item" and is_message(payload):
        role = payload.get("role")
        if role == "assistant":
            text = message_text(payload).strip()
            return [text] if text else []
        if role == "user":
            user = response_user_text(item)
            return [strip_marker(user)] if user else []
    return []
