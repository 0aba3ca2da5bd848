"""A throwaway PostgreSQL server for the test session.

:func:`shared_server` starts one server the first time a test needs it (``initdb`` into a
temporary directory, ``pg_ctl start`` on a free loopback port, listening on 127.0.0.1 only, its
unix socket inside the temporary directory) and the session stops it at the end
(``tests/conftest.py``). PostgreSQL refuses to run as root: when the tests run as root, the
server runs as the ``postgres`` user (``runuser``). Each test gets its own database
(:meth:`PostgresServer.create_database`), so tests are isolated and need no cleanup of rows.

The binaries are looked up on ``PATH`` and under ``/usr/lib/postgresql/*/bin`` (Debian's
layout); ``scripts/test`` installs Debian's ``postgresql`` package when neither has them. A
missing server is an error, never a skip.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

__all__ = [
    "PgBouncer",
    "PostgresServer",
    "find_bin_dir",
    "pgbouncer_for_new_database",
    "shared_pgbouncer",
    "shared_server",
    "stop_shared_server",
]

_TEMPLATE = "threadstore_test_template"


def find_bin_dir() -> Path:
    """The directory holding ``pg_ctl`` and ``initdb`` (newest Debian version first)."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name or 0), reverse=True
    )
    found = shutil.which("pg_ctl")
    if found:
        candidates.insert(0, str(Path(os.path.realpath(found)).parent))
    for directory in candidates:
        if (Path(directory) / "pg_ctl").exists() and (Path(directory) / "initdb").exists():
            return Path(directory)
    raise RuntimeError(
        "PostgreSQL server binaries (pg_ctl, initdb) not found: scripts/test installs Debian's postgresql package"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory (see the module documentation)."""

    def __init__(self, *, durable: bool = False) -> None:
        #: Whether the server syncs its WAL to the disk (off for tests: nothing here outlives the
        #: machine, and tests run faster; on for benchmarks, which must measure real commits).
        self.durable = durable
        self.bin_dir = find_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="threadstore-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0
        self.running = False

    # -- processes -------------------------------------------------------------------------------

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}\n{log}")
        return result

    def start(self) -> None:
        self.sockets.mkdir()
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.sockets, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.sockets),
            "max_connections": "300",
            "shared_buffers": "64MB",
            "log_min_messages": "warning",
        }
        if not self.durable:
            settings.update(fsync="off", full_page_writes="off")  # the OS keeps what a restart needs
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.writelines(f"{k} = '{v}'\n" for k, v in settings.items())
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        self.running = True
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {_TEMPLATE}")
        with psycopg.connect(self.dsn(_TEMPLATE), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_trgm")

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is cut, the server comes back."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-m", "fast", "restart")

    def stop(self) -> None:
        if self.running:
            self.running = False
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    # -- databases -------------------------------------------------------------------------------

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.dsn(), autocommit=True)

    def create_database(self) -> str:
        """A new empty database (with pg_trgm available); its DSN."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE}")
        return self.dsn(name)

    def drop_database(self, dsn: str) -> None:
        name = dsn.rsplit("/", 1)[-1]
        with self.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class PgBouncer:
    """PgBouncer in transaction mode in front of ``server``, with a deliberately small pool (two
    server connections per database), so consecutive transactions of one client land on
    different server connections. Run as the ``postgres`` user when the tests run as root."""

    def __init__(self, server: PostgresServer, name: str = "pgbouncer") -> None:
        found = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)
        if found is None:
            raise RuntimeError("pgbouncer not found: scripts/test installs Debian's pgbouncer package")
        self.binary = found
        self.server = server
        self.port = _free_port()
        self.root = server.root / name
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.root.mkdir()
        (self.root / "users.txt").write_text('"postgres" ""\n')
        (self.root / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={self.server.port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.root / 'users.txt'}\n"
            "pool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 500\n"
            f"logfile = {self.root / 'pgbouncer.log'}\n"
        )
        command = [self.binary, str(self.root / "pgbouncer.ini")]
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            for name in ("users.txt", "pgbouncer.ini"):
                shutil.chown(self.root / name, "postgres", "postgres")
            command = ["runuser", "-u", "postgres", "--", *command]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            if self._process.poll() is not None:
                errors = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                raise RuntimeError(f"pgbouncer exited: {errors}")
            time.sleep(0.05)
        raise RuntimeError("pgbouncer did not start listening")

    def dsn(self, server_dsn: str) -> str:
        """The DSN of ``server_dsn``'s database through PgBouncer."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{server_dsn.rsplit('/', 1)[-1]}"

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            if process.stderr is not None:
                process.stderr.close()


_shared: PostgresServer | None = None
_bouncer: PgBouncer | None = None
_bouncer_databases = 0
_bouncers_started = 0

#: How many throwaway databases one PgBouncer serves before the next is started. PgBouncer
#: (Debian's 1.18) stops accepting connections after some 70 auto-databases whose server
#: connections ended with ``DROP DATABASE ... WITH (FORCE)``; a fresh one sidesteps that.
DATABASES_PER_BOUNCER = 40


def shared_server() -> PostgresServer:
    """The session's server, started on first use."""
    global _shared
    if _shared is None:
        server = PostgresServer()
        try:
            server.start()
        except BaseException:
            server.stop()
            raise
        _shared = server
    return _shared


def pgbouncer_for_new_database() -> None:
    """Count one more throwaway database behind the shared PgBouncer, and replace it when it
    has served :data:`DATABASES_PER_BOUNCER` (call it before the database is first used)."""
    global _bouncer, _bouncer_databases
    _bouncer_databases += 1
    if _bouncer is not None and _bouncer_databases > DATABASES_PER_BOUNCER:
        old, _bouncer = _bouncer, None
        old.stop()
        _bouncer_databases = 1


def shared_pgbouncer() -> PgBouncer:
    """The session's PgBouncer in front of :func:`shared_server`, started on first use."""
    global _bouncer, _bouncers_started
    if _bouncer is None:
        _bouncers_started += 1
        bouncer = PgBouncer(shared_server(), f"pgbouncer-{_bouncers_started}")
        try:
            bouncer.start()
        except BaseException:
            bouncer.stop()
            raise
        _bouncer = bouncer
    return _bouncer


def stop_shared_server() -> None:
    global _shared, _bouncer
    bouncer, _bouncer = _bouncer, None
    if bouncer is not None:
        bouncer.stop()
    server, _shared = _shared, None
    if server is not None:
        server.stop()
