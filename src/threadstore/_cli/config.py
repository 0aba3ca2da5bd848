"""Where the command line finds its store and token: flags over environment over a config file.

=================  ===========================  ==========================  ====================
setting            flag                         environment                 config file key
=================  ===========================  ==========================  ====================
store URL          ``--store URL``              ``THREADSTORE_URL``         ``store``
local home         ``--home PATH``              ``THREADSTORE_HOME``        ``home``
server token       ``--token TOKEN``            ``THREADSTORE_TOKEN``       ``token``
=================  ===========================  ==========================  ====================

A home stands for the URL ``local:HOME``. The first setting found wins, in this order: the
flags, then the environment, then the file; within one level the URL before the home. With
none, the store is ``local:~/.threadstore``. The file is ``$XDG_CONFIG_HOME/threadstore/
config.toml`` (``~/.config/threadstore/config.toml`` when the variable is unset); it is optional,
and an unreadable or malformed file, or an unknown key, is an error that names the file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from threadstore._cli.errors import CliFailure
from threadstore._env import HOME_ENV, TOKEN_ENV, URL_ENV

__all__ = ["URL_ENV", "Setting", "Settings", "config_path", "load_file", "resolve"]

DEFAULT_HOME: Final = "~/.threadstore"
_KEYS: Final = ("store", "home", "token")


@dataclass(frozen=True, slots=True)
class Setting:
    """A value and where it came from (``--store``, ``THREADSTORE_URL``, ``config file``, ``default``)."""

    value: str | None
    origin: str


@dataclass(frozen=True, slots=True)
class Settings:
    """The resolved settings of one invocation."""

    store: Setting
    token: Setting
    config_file: Path
    config_found: bool

    def environ(self) -> dict[str, str]:
        """The environment the store is opened with (the token where the gRPC client reads it)."""
        env = dict(os.environ)
        if self.token.value:
            env[TOKEN_ENV] = self.token.value
        return env


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/threadstore/config.toml``, or under ``~/.config`` when it is unset."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(base) / "threadstore" / "config.toml"


def load_file(path: Path) -> dict[str, str] | None:
    """The settings in ``path``, or None when there is no such file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CliFailure(f"cannot read the config file {path}: {exc.strerror or exc}", "config") from None
    try:
        parsed: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CliFailure(f"the config file {path} is not valid TOML: {exc}", "config") from None
    settings: dict[str, str] = {}
    for key, value in parsed.items():
        if key not in _KEYS:
            raise CliFailure(f"unknown key {key!r} in the config file {path} (known: {', '.join(_KEYS)})", "config")
        if not isinstance(value, str) or not value.strip():
            raise CliFailure(f"{key} in the config file {path} must be a non-empty string", "config")
        settings[key] = value.strip()
    if "store" in settings and "home" in settings:
        raise CliFailure(f"the config file {path} sets both store and home: keep one", "config")
    return settings


def _first(*candidates: tuple[str | None, str]) -> Setting | None:
    for value, origin in candidates:
        if value:
            return Setting(value, origin)
    return None


def _home_url(setting: Setting | None) -> Setting | None:
    if setting is None or setting.value is None:
        return setting
    return Setting(f"local:{Path(setting.value).expanduser()}", setting.origin)


def resolve(
    *,
    store: str | None = None,
    home: str | None = None,
    token: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """The settings from the flags given (``store``, ``home``, ``token``), the environment and
    the config file, by the precedence of the module documentation."""
    env = os.environ if environ is None else environ
    if store and home:
        raise CliFailure("--store and --home name the store twice: give one", "usage")
    path = config_path(env)
    file = load_file(path)
    found = file is not None
    file = file or {}
    in_file = f"config file {path}"
    url = (
        _first((store, "--store"))
        or _home_url(_first((home, "--home")))
        or _first((env.get(URL_ENV), URL_ENV))
        or _home_url(_first((env.get(HOME_ENV), HOME_ENV)))
        or _first((file.get("store"), in_file))
        or _home_url(_first((file.get("home"), in_file)))
        or _home_url(Setting(DEFAULT_HOME, "default"))
    )
    assert url is not None
    secret = _first((token, "--token"), (env.get(TOKEN_ENV), TOKEN_ENV), (file.get("token"), in_file))
    return Settings(url, secret or Setting(None, "not set"), path, found)
