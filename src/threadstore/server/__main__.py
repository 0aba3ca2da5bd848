"""``python -m threadstore.server [options]``: serve a store over gRPC (see
:mod:`threadstore.server.main`; ``threadstore serve`` takes the same options)."""

from __future__ import annotations

import sys

from .main import main

if __name__ == "__main__":
    sys.exit(main())
