"""Checks on JSON text shared by backend tests."""

from __future__ import annotations

import json
from typing import Any


def same_json_text(value: Any, data: bytes) -> bool:
    """Whether ``data`` is ``value`` as JSON with the same key order and exact numbers."""
    return json.dumps(json.loads(data)) == json.dumps(value) and json.loads(data) == value
