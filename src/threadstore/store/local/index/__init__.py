"""The local store's SQLite index (see :mod:`.index`)."""

from .index import Index, trigram_query
from .rows import FileState, IndexRow, PageFilter, PageQuery, PageRow
from .schema import SCHEMA_VERSION, TEXT_SHIFT, is_corruption, is_full

__all__ = [
    "SCHEMA_VERSION",
    "TEXT_SHIFT",
    "FileState",
    "Index",
    "IndexRow",
    "PageFilter",
    "PageQuery",
    "PageRow",
    "is_corruption",
    "is_full",
    "trigram_query",
]
