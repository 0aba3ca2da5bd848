"""The checked-in generated modules match the .proto, and the RPC table matches the service."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from threadstore._wire._proto import thread_store_pb2 as pb
from threadstore._wire.methods import METHODS, SERVICE

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "src" / "threadstore" / "_wire" / "_proto"


def _normalize(text: str) -> str:
    """Drop the tool versions the generator stamps into its output."""
    text = re.sub(r"# Protobuf Python Version: .*", "", text)
    text = re.sub(r"ValidateProtobufRuntimeVersion\([^)]*\)", "ValidateProtobufRuntimeVersion()", text)
    return re.sub(r"GRPC_GENERATED_VERSION = '[^']*'", "GRPC_GENERATED_VERSION = ''", text)


def test_generated_code_is_in_sync(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_proto"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    fresh = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    checked_in = sorted(p.name for p in GENERATED.iterdir() if p.is_file() and p.suffix in (".py", ".pyi"))
    assert fresh == checked_in
    for name in fresh:
        assert _normalize((tmp_path / name).read_text()) == _normalize((GENERATED / name).read_text()), (
            f"{name} is stale: run scripts/gen_proto"
        )


def test_method_table_matches_the_service() -> None:
    service = pb.DESCRIPTOR.services_by_name["ThreadStore"]
    assert service.full_name == SERVICE
    described = {m.name: (m.input_type.full_name, m.output_type.full_name) for m in service.methods}
    table = {
        name: (spec.request.DESCRIPTOR.full_name, spec.response.DESCRIPTOR.full_name) for name, spec in METHODS.items()
    }
    assert table == described


def test_seed_field_numbers_are_unchanged() -> None:
    """Spot checks of the seed protocol's numbering (Codex's own field numbers)."""
    fields = pb.StoredThread.DESCRIPTOR.fields_by_name
    assert fields["rollout_path"].number == 19
    assert fields["history"].number == 23
    assert fields["token_usage_json"].number == 22
    assert pb.ListThreadsRequest.DESCRIPTOR.fields_by_name["sort_direction"].number == 10
    assert pb.CreateThreadRequest.DESCRIPTOR.fields_by_name["metadata_json"].number == 7
    assert pb.ResumeThreadRequest.DESCRIPTOR.fields_by_name["has_history"].number == 4
    assert pb.SESSION_SOURCE_KIND_APP_SERVER == 4
    assert pb.SESSION_SOURCE_KIND_SUB_AGENT_OTHER == 10
    assert pb.SORT_DIRECTION_ASC == 0
    assert pb.OPTIONAL_STRING_PATCH_KIND_SET == 2
    assert pb.DESCRIPTOR.package == "codex.thread_store.v1"
