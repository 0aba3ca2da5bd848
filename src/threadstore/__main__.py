"""``python -m threadstore``: the ``threadstore`` command line."""

from __future__ import annotations

import sys

from threadstore._cli import main

if __name__ == "__main__":
    sys.exit(main())
