"""``export --output`` never writes through a symbolic link: a link where the file (or the
directory of several threads) would go is refused, and what it points at is left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import chat, invoke, with_store


@pytest.fixture
def url(tmp_path: Path) -> str:
    (tmp_path / "home").mkdir()
    return f"local:{tmp_path / 'home'}"


def test_a_link_in_place_of_the_output_file_is_refused(url: str, tmp_path: Path) -> None:
    thread_id = with_store(url, lambda s: chat(s, ["hello"]))
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    link = tmp_path / "out.jsonl"
    link.symlink_to(victim)
    for fmt in ("jsonl", "json", "markdown"):
        code, _, err = invoke(url, "export", thread_id, "--format", fmt, "--output", str(link))
        assert code == 1
        assert err == f"error: cannot write {link}: it is a symbolic link, and export never writes through one\n"
    assert victim.read_text() == "precious\n"

    dangling = tmp_path / "dangling.jsonl"
    dangling.symlink_to(tmp_path / "elsewhere.jsonl")
    code, _, _ = invoke(url, "export", thread_id, "--output", str(dangling))
    assert code == 1
    assert not (tmp_path / "elsewhere.jsonl").exists()

    code, _, err = invoke(url, "export", thread_id, "--output", str(tmp_path / "plain.jsonl"))
    assert code == 0, err
    assert (tmp_path / "plain.jsonl").read_bytes().startswith(b'{"timestamp"')


def test_a_link_in_place_of_the_output_directory_is_refused(url: str, tmp_path: Path) -> None:
    with_store(url, lambda s: chat(s, ["one"]))
    with_store(url, lambda s: chat(s, ["two"]))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "exported"
    link.symlink_to(elsewhere)
    for fmt in ("jsonl", "json"):
        code, _, err = invoke(url, "export", "--all", "--format", fmt, "--output", str(link))
        assert code == 1
        assert "it is a symbolic link, and export never writes through one" in err
    assert list(elsewhere.iterdir()) == []
