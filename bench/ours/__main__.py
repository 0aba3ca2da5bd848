"""``python -m bench.ours WORKLOAD PARAMS_JSON``: one workload, one JSON line on stdout."""

from __future__ import annotations

import asyncio
import json
import sys

from ..measure import emit
from . import run


def main() -> None:
    workload, params = sys.argv[1], json.loads(sys.argv[2])
    emit(asyncio.run(run(workload, params)))


if __name__ == "__main__":
    main()
