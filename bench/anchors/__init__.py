"""Runners for the anchors, the libraries agent developers use today (their figures published by their authors and users).

Each module runs in the anchors' own environment (see :mod:`bench.envs`), never in the project's:
``python -m bench.anchors.<name> WORKLOAD PARAMS_JSON`` prints one JSON result line (see
:mod:`bench.measure`), and ``python -m bench.anchors.<name> --self-test`` runs every workload of
that anchor at a tiny size and prints the results (run it by hand after upgrading an anchor).
Only the standard library and the anchor itself are imported, plus :mod:`bench.corpus` and
friends (also standard library only).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..measure import emit

__all__ = ["runner_main"]

Workload = Callable[[dict[str, Any]], dict[str, Any]]


def runner_main(workloads: Mapping[str, Workload], self_test: Callable[[Path], list[tuple[str, dict[str, Any]]]]) -> None:
    """The command line of an anchor runner."""
    if sys.argv[1:] == ["--self-test"]:
        with tempfile.TemporaryDirectory() as tmp:
            for name, params in self_test(Path(tmp)):
                result = workloads[name](params)
                print(name, json.dumps(result))
                assert all(isinstance(v, int | float) and v >= 0 for v in result.values()), result
        print("self-test passed")
        return
    workload, params = sys.argv[1], json.loads(sys.argv[2])
    emit(workloads[workload](params))
