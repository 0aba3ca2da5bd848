"""Typed access to a request's ``params`` object; every failure is an invalid-params error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from threadstore._appserver.errors import RpcError
from threadstore._ids import validate_thread_id
from threadstore.errors import InvalidRequest

__all__ = ["Params"]


def _bad(message: str) -> RpcError:
    return RpcError.invalid_params(f"Invalid params: {message}")


class Params:
    """The ``params`` of one request (absent or null means ``{}``)."""

    def __init__(self, raw: object) -> None:
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise _bad("params must be an object")
        self._raw: Mapping[str, Any] = raw

    @property
    def raw(self) -> Mapping[str, Any]:
        return self._raw

    def thread_id(self, name: str = "threadId") -> str:
        value = self._raw.get(name)
        if value is None:
            raise _bad(f"missing field `{name}`")
        try:
            return validate_thread_id(value, name)
        except InvalidRequest as exc:
            raise _bad(exc.detail) from None

    def opt_str(self, name: str) -> str | None:
        value = self._raw.get(name)
        if value is None or isinstance(value, str):
            return value
        raise _bad(f"`{name}` must be a string")

    def string(self, name: str) -> str:
        value = self.opt_str(name)
        if value is None:
            raise _bad(f"missing field `{name}`")
        return value

    def opt_bool(self, name: str) -> bool | None:
        value = self._raw.get(name)
        if value is None or isinstance(value, bool):
            return value
        raise _bad(f"`{name}` must be a boolean")

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.opt_bool(name)
        return default if value is None else value

    def opt_int(self, name: str, *, minimum: int | None = None) -> int | None:
        value = self._raw.get(name)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise _bad(f"`{name}` must be an integer")
        if minimum is not None and value < minimum:
            raise _bad(f"`{name}` must be at least {minimum}")
        return value

    def opt_str_list(self, name: str, *, allow_single: bool = False) -> list[str] | None:
        """A list of strings (or, with ``allow_single``, one string standing for a list of one)."""
        value = self._raw.get(name)
        if value is None:
            return None
        if allow_single and isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        raise _bad(f"`{name}` must be a list of strings")

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.opt_str(name)
        if value is None:
            return default
        if value not in allowed:
            raise _bad(f"unknown `{name}` {value!r} (expected one of: {', '.join(allowed)})")
        return value

    def opt_object(self, name: str) -> Mapping[str, Any] | None:
        value = self._raw.get(name)
        if value is None or isinstance(value, Mapping):
            return value
        raise _bad(f"`{name}` must be an object")
