"""``python -m threadstore._server [options]``: serve a store over gRPC (see
:mod:`threadstore._server.main`; ``threadstore serve`` takes the same options)."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("GRPC_VERBOSITY", "NONE")  # failures are reported as our own lines

from threadstore._server.main import main

if __name__ == "__main__":
    sys.exit(main())
