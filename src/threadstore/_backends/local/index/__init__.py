"""The local store's SQLite index (see :mod:`.index`)."""

from threadstore._backends.local.index.checkpoint import Checkpointer
from threadstore._backends.local.index.index import Index
from threadstore._backends.local.index.rows import (
    THREAD_COLUMNS,
    FileState,
    IndexRow,
    NewRow,
    PageFilter,
    PageQuery,
    PageRow,
    row_values,
)
from threadstore._backends.local.index.schema import SCHEMA_VERSION, TEXT_SHIFT, is_corruption, is_full
from threadstore._backends.local.index.texts import trigram_query

__all__ = [
    "SCHEMA_VERSION",
    "Checkpointer",
    "THREAD_COLUMNS",
    "TEXT_SHIFT",
    "FileState",
    "Index",
    "IndexRow",
    "NewRow",
    "PageFilter",
    "PageQuery",
    "PageRow",
    "is_corruption",
    "is_full",
    "row_values",
    "trigram_query",
]
