"""Log output of the server: one line per record, as text or as JSON.

A JSON line carries ``ts`` (RFC 3339), ``level``, ``logger`` and ``msg``, plus the structured
request fields (``method``, ``thread_id``, ``status``, ``duration_ms``, ``error``) when the record
is a request log.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Literal

from threadstore import _json
from threadstore._time import format_rfc3339

__all__ = ["JsonFormatter", "LogFormat", "configure_logging"]

LogFormat = Literal["text", "json"]


class JsonFormatter(logging.Formatter):
    """Formats each record as one JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": format_rfc3339(datetime.fromtimestamp(record.created, UTC)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rpc = getattr(record, "rpc", None)
        if isinstance(rpc, dict):
            out.update(rpc)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return _json.dumps_str(out)


def configure_logging(fmt: LogFormat = "text", level: int = logging.INFO) -> None:
    """Send the ``threadstore`` loggers to stderr in the given format (replaces earlier setup)."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("threadstore")
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
