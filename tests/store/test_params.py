"""The parameter objects and metadata patches check themselves (no store involved)."""

from __future__ import annotations

import pytest

from threadstore import (
    UNSET,
    AppendThreadItemsParams,
    CreateThreadParams,
    GitInfoPatch,
    InvalidRequest,
    ThreadMetadataPatch,
)
from threadstore.testing import create_params


async def test_bad_items_are_refused_before_reaching_the_store() -> None:
    with pytest.raises(InvalidRequest):
        AppendThreadItemsParams(thread_id=create_params().thread_id, items=["not an item"])  # type: ignore[list-item]
    with pytest.raises(InvalidRequest):
        AppendThreadItemsParams(thread_id="../../etc/passwd", items=[])


async def test_create_params_validation() -> None:
    with pytest.raises(InvalidRequest):
        CreateThreadParams(thread_id="nope", cwd="/", model_provider="x")
    with pytest.raises(InvalidRequest):
        CreateThreadParams(thread_id=create_params().thread_id, cwd="/", model_provider="x", memory_mode="maybe")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest):
        CreateThreadParams(
            thread_id=create_params().thread_id,
            cwd="/",
            model_provider="x",
            event_persistence_mode="all",  # type: ignore[arg-type]
        )
    upper = create_params().thread_id.upper()
    assert CreateThreadParams(thread_id=upper, cwd="/", model_provider="x").thread_id == upper.lower()


def test_patch_json_presence_semantics() -> None:
    patch = ThreadMetadataPatch(name=None, git_info=GitInfoPatch(branch="main", origin_url=None))
    data = patch.to_json()
    assert data == {"name": None, "git_info": {"branch": "main", "origin_url": None}}
    assert ThreadMetadataPatch.from_json(data) == patch
    assert ThreadMetadataPatch.from_json({}).is_empty()
    merged = ThreadMetadataPatch(name="a", git_info=GitInfoPatch(sha="1")).merge(
        ThreadMetadataPatch(git_info=GitInfoPatch(branch="b"))
    )
    assert merged.name == "a"
    assert merged.git_info == GitInfoPatch(sha="1", branch="b")
    assert merged.memory_mode is UNSET
    with pytest.raises(InvalidRequest):
        ThreadMetadataPatch.from_json({"nmae": "typo"})
    with pytest.raises(InvalidRequest):
        ThreadMetadataPatch(memory_mode="sometimes")  # type: ignore[arg-type]
