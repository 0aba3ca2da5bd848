"""Settings: flags over environment over the config file; ``threadstore config`` shows them;
a missing local home is an error unless ``--create`` or a command that writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from threadstore._cli import app
from threadstore._cli.config import config_path, resolve
from threadstore._cli.errors import CliFailure

from .helpers import invoke, runner

CLEAN = {"THREADSTORE_URL": None, "THREADSTORE_HOME": None, "THREADSTORE_TOKEN": None}


@pytest.fixture
def xdg(tmp_path: Path) -> Path:
    folder = tmp_path / "xdg"
    (folder / "threadstore").mkdir(parents=True)
    return folder


def settings(xdg: Path, *args: str, **env: str | None) -> dict[str, Any]:
    result = runner.invoke(app, [*args, "config", "--json"], env={**CLEAN, "XDG_CONFIG_HOME": str(xdg), **env})
    assert result.exit_code == 0, result.stderr
    value: dict[str, Any] = json.loads(result.stdout)
    return value


def test_precedence_flags_over_environment_over_file(xdg: Path, tmp_path: Path) -> None:
    file = xdg / "threadstore" / "config.toml"
    assert settings(xdg)["store"] == {"value": f"local:{Path('~/.threadstore').expanduser()}", "from": "default"}
    assert settings(xdg)["config_file_found"] is False

    file.write_text('store = "grpc://127.0.0.1:1"\ntoken = "from-file"\n')
    shown = settings(xdg)
    assert shown["config_file"] == str(file)
    assert shown["config_file_found"] is True
    assert shown["store"] == {"value": "grpc://127.0.0.1:1", "from": f"config file {file}"}
    assert shown["token"] == {"set": True, "from": f"config file {file}"}

    env_home = tmp_path / "env-home"
    shown = settings(xdg, THREADSTORE_HOME=str(env_home), THREADSTORE_TOKEN="from-env")
    assert shown["store"] == {"value": f"local:{env_home}", "from": "THREADSTORE_HOME"}
    assert shown["token"] == {"set": True, "from": "THREADSTORE_TOKEN"}
    shown = settings(xdg, THREADSTORE_HOME=str(env_home), THREADSTORE_URL="memory:")
    assert shown["store"] == {"value": "memory:", "from": "THREADSTORE_URL"}  # a URL before a home

    shown = settings(xdg, "--home", str(tmp_path / "flag"), "--token", "t", THREADSTORE_URL="memory:")
    assert shown["store"] == {"value": f"local:{tmp_path / 'flag'}", "from": "--home"}
    assert shown["token"] == {"set": True, "from": "--token"}
    assert settings(xdg, "--store", "memory:", THREADSTORE_URL="grpc://h:1")["store"] == {
        "value": "memory:",
        "from": "--store",
    }


def test_file_home_and_the_token_reaching_the_client(xdg: Path, tmp_path: Path) -> None:
    (xdg / "threadstore" / "config.toml").write_text(f'home = "{tmp_path / "h"}"\n')
    assert settings(xdg)["store"]["value"] == f"local:{tmp_path / 'h'}"
    resolved = resolve(token="secret", environ={"XDG_CONFIG_HOME": str(xdg)})
    assert resolved.environ()["THREADSTORE_TOKEN"] == "secret"


def test_xdg_unset_means_dot_config() -> None:
    assert config_path({}) == Path("~/.config/threadstore/config.toml").expanduser()
    assert config_path({"XDG_CONFIG_HOME": "/etc/xdg"}) == Path("/etc/xdg/threadstore/config.toml")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("store = ", "not valid TOML"),
        ('colour = "blue"', "unknown key 'colour'"),
        ("token = 5", "token in the config file"),
        ('store = "memory:"\nhome = "/x"', "both store and home"),
    ],
)
def test_bad_config_files_are_named(xdg: Path, text: str, words: str) -> None:
    file = xdg / "threadstore" / "config.toml"
    file.write_text(text)
    result = runner.invoke(app, ["list"], env={**CLEAN, "XDG_CONFIG_HOME": str(xdg)})
    assert result.exit_code == 1
    assert words in result.stderr
    assert str(file) in result.stderr


def test_store_and_home_flags_together_are_a_usage_error() -> None:
    with pytest.raises(CliFailure, match="give one"):
        resolve(store="memory:", home="/x", environ={})
    result = runner.invoke(app, ["--store", "memory:", "--home", "/x", "list"])
    assert result.exit_code == 2


def test_config_text_output(xdg: Path) -> None:
    result = runner.invoke(app, ["config"], env={**CLEAN, "XDG_CONFIG_HOME": str(xdg), "THREADSTORE_TOKEN": "s3cret"})
    assert result.exit_code == 0
    assert "(not found)" in result.stdout
    assert "set (from THREADSTORE_TOKEN)" in result.stdout
    assert "s3cret" not in result.stdout  # never printed


def test_a_missing_home_is_an_error_not_an_empty_store(tmp_path: Path) -> None:
    typo = tmp_path / ".codx"
    code, out, err = invoke(f"local:{typo}", "list")
    assert code == 3
    assert out == ""
    assert f"no thread store at {typo}" in err
    assert "--create" in err
    assert not typo.exists()  # nothing was created
    code, out, _ = invoke(f"local:{typo}", "list", "--json")
    assert json.loads(out)["error"]["code"] == "not_found"


def test_create_makes_the_home(tmp_path: Path) -> None:
    home = tmp_path / "new"
    result = runner.invoke(app, ["--create", "--store", f"local:{home}", "list"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "No threads.\n"
    assert home.is_dir()


def test_commands_that_write_create_the_home(tmp_path: Path) -> None:
    home = tmp_path / "chat-home"
    code, _, err = invoke(f"local:{home}", "chat", input="hi\n")
    assert code == 0, err
    assert home.is_dir()
    target = tmp_path / "copy-target"
    code, _, err = invoke(f"local:{home}", "copy", "--to", f"local:{target}")
    assert code == 0, err
    assert target.is_dir()


def test_a_file_as_home(tmp_path: Path) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("x")
    code, _, err = invoke(f"local:{file}", "list")
    assert code == 1
    assert "is a file, not a thread store directory" in err
    assert "Errno" not in err
