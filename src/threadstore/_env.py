"""The environment variables threadstore reads, by name (one place, so that every reader and
every message spells them alike)."""

from __future__ import annotations

from typing import Final

__all__ = ["CA_FILE_ENV", "HOME_ENV", "TOKEN_ENV", "URL_ENV"]

#: The directory of the default local store (``local:$THREADSTORE_HOME``).
HOME_ENV: Final = "THREADSTORE_HOME"
#: The command line's default store URL.
URL_ENV: Final = "THREADSTORE_URL"
#: The bearer token a ``grpc://`` store sends.
TOKEN_ENV: Final = "THREADSTORE_TOKEN"
#: PEM roots a ``grpcs://`` store trusts.
CA_FILE_ENV: Final = "THREADSTORE_CA_FILE"
