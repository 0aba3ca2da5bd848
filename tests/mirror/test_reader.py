"""Reading rollouts from where the mirror stopped: complete lines only, the tail that tells a
rewrite, compressed rollouts with the same offsets, and the checkpoint labels."""

from __future__ import annotations

import zlib
from pathlib import Path

import zstandard

from threadstore._mirror.checkpoint import Checkpoint, checkpoints, source_key
from threadstore._mirror.reader import (
    TAIL_BYTES,
    logical_size,
    numbered_lines,
    prefix_crc,
    read_all,
    read_slice,
    tail_of,
)

LINES = [
    b'{"timestamp":"2026-01-01T00:00:00.000Z","type":"session_meta","payload":{"id":"x"}}\n',
    b'{"timestamp":"2026-01-01T00:00:01.000Z","type":"event_msg","payload":{"type":"user_message","message":"hi"}}\n',
    b'{"timestamp":"2026-01-01T00:00:02.000Z","ordinal":2,"type":"event_msg","payload":{"type":"agent_message"}}\n',
]


def test_a_slice_takes_complete_lines_and_leaves_a_growing_one(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"".join(LINES) + LINES[0][:20])
    piece = read_slice(path, 0, None, final=False)
    assert [line["type"] for line in piece.lines] == ["session_meta", "event_msg", "event_msg"]
    assert list(piece.lines[2]) == ["timestamp", "ordinal", "type", "payload"]  # the line's own key order
    assert piece.end == len(b"".join(LINES))
    assert piece.at_end
    assert piece.tail == zlib.crc32(b"".join(LINES)[-TAIL_BYTES:])
    # The rest of the growing line arrives: the next read starts where the last one ended.
    with open(path, "ab") as f:
        f.write(LINES[0][20:])
    more = read_slice(path, piece.end, piece.tail, final=False)
    assert [line["type"] for line in more.lines] == ["session_meta"]
    assert more.end == path.stat().st_size


def test_a_final_read_takes_a_last_line_without_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(LINES[0] + LINES[1].rstrip(b"\n"))
    assert len(read_slice(path, 0, None, final=False).lines) == 1
    assert len(read_slice(path, 0, None, final=True).lines) == 2


def test_unreadable_lines_are_passed_over_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(LINES[0] + b'{"torn": \n' + b"\x00" * 8 + b"\n" + LINES[1])
    piece = read_slice(path, 0, None, final=False)
    assert len(piece.lines) == 2
    assert piece.skipped == 2
    assert piece.end == path.stat().st_size


def test_a_changed_or_truncated_beginning_is_told(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"".join(LINES))
    first = read_slice(path, 0, None, final=False)
    assert not read_slice(path, first.end, first.tail, final=False).rewritten
    path.write_bytes(b"".join(LINES).replace(b'"hi"', b'"ho"'))  # same size, other bytes
    assert read_slice(path, first.end, first.tail, final=False).rewritten
    path.write_bytes(b"".join(LINES[:2]))  # shorter than what was read
    assert read_slice(path, first.end, first.tail, final=False).rewritten


def test_slices_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(LINES[1] * 1000)
    start, seen = 0, 0
    while True:
        piece = read_slice(path, start, None, final=False, max_bytes=4096)
        assert len(piece.lines) <= 4096 // len(LINES[1]) + 1
        seen += len(piece.lines)
        start = piece.end
        if piece.at_end:
            break
    assert seen == 1000
    assert start == path.stat().st_size


def test_a_compressed_rollout_keeps_the_offsets_of_its_content(tmp_path: Path) -> None:
    plain = tmp_path / "r.jsonl"
    plain.write_bytes(b"".join(LINES))
    first = read_slice(plain, 0, None, final=False, max_bytes=len(LINES[0]))
    packed = tmp_path / "r.jsonl.zst"
    packed.write_bytes(zstandard.ZstdCompressor().compress(b"".join(LINES)))
    assert logical_size(packed) == len(b"".join(LINES))
    rest = read_slice(packed, first.end, first.tail, final=True)
    assert [line["payload"].get("type") for line in rest.lines] == ["user_message", "agent_message"]
    assert rest.end == len(b"".join(LINES))
    assert read_all(packed) == b"".join(LINES)


def test_slices_carry_the_checksum_of_everything_before_them(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"".join(LINES))
    first = read_slice(path, 0, None, final=False, max_bytes=len(LINES[0]))
    rest = read_slice(path, first.end, first.tail, final=False, crc=first.crc)
    assert rest.crc == zlib.crc32(b"".join(LINES)) == prefix_crc(path, rest.end)
    assert prefix_crc(path, rest.end + 1) is None


def test_numbered_lines_give_where_each_line_ends() -> None:
    data = LINES[0] + b"garbage\n" + LINES[1]
    assert [(line["type"], end) for line, end in numbered_lines(data, final=False)] == [
        ("session_meta", len(LINES[0])),
        ("event_msg", len(data)),
    ]
    assert tail_of(data) == zlib.crc32(data)


def test_checkpoints_are_labels_people_can_read() -> None:
    checkpoint = Checkpoint(lines=12, offset=3456, tail=0xABCDEF, crc=0x12, inode=99, written=1700000000123456789)
    assert checkpoint.encode() == "lines=12 bytes=3456 tail=00abcdef crc=00000012 file=99:1700000000123456789"
    assert Checkpoint.decode(checkpoint.opened().encode()) == Checkpoint(
        12, 3456, 0xABCDEF, 0x12, 99, 1700000000123456789, True
    )
    assert Checkpoint.decode("lines=1") is None
    key = source_key("my laptop (home)", Path("/home/me/.codex"))
    assert key.startswith("mirror.my-laptop-home.")
    assert len(key) <= 100
    assert source_key("a", Path("/x")) != source_key("a", Path("/y"))
    assert checkpoints({"host": "a", key: checkpoint.encode(), "mirror.b.1": "junk"}) == {key: checkpoint}
