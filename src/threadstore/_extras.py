"""Optional dependencies: which extra of the package brings each, and imports that name it.

A name of the public surface whose backend or client needs an extra (``RemoteThreadStore``
needs ``threadstore[grpc]``, ``PostgresThreadStore`` ``threadstore[postgres]``...) is imported
through :func:`import_module`: when a dependency is missing, the error names the extra to
install instead of only the module that failed.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Final

__all__ = ["EXTRA_OF", "MissingExtra", "import_module"]

#: The extra that installs each optional top-level module.
EXTRA_OF: Final[dict[str, str]] = {
    "grpc": "grpc",
    "google": "grpc",
    "psycopg": "postgres",
    "psycopg_pool": "postgres",
    "httpx": "openai",
    "starlette": "ui",
    "jinja2": "ui",
    "uvicorn": "ui",
    "multipart": "ui",
    "python_multipart": "ui",
    "websockets": "appserver",
    "pytest": "testing",
    "pytest_asyncio": "testing",
    "claude_agent_sdk": "claude",
    "typer": "cli",
    "rich": "cli",
}


class MissingExtra(ModuleNotFoundError):
    """A dependency of an optional feature is not installed (the message names the extra)."""


def import_module(module: str, feature: str) -> ModuleType:
    """Import ``module`` (which provides ``feature``); a missing optional dependency raises
    :class:`MissingExtra` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        extra = EXTRA_OF.get(missing)
        if extra is None:
            raise
        raise MissingExtra(
            f"{feature} needs the {extra} extra: pip install 'threadstore[{extra}]' ({missing} is not installed)",
            name=exc.name,
        ) from None
