"""``python -m threadstore.cli``: the ``threadstore`` command line."""

from __future__ import annotations

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
