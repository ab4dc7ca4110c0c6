"""A throwaway PostgreSQL cluster for the test suite and the benchmark.

One cluster per test session: `initdb` into a fresh temporary directory, `pg_ctl start` on
127.0.0.1 and a free port, with durability switched off (fsync, synchronous_commit,
full_page_writes) because the data dies with the session anyway. The benchmark measures on
`PostgresCluster(durable=True)` instead: the data directory on a disk (never tmpfs) and PostgreSQL's
durable defaults (fsync, synchronous_commit and full_page_writes on), so a figure that claims
durability is taken on a server where an acknowledged commit is on disk. Tests get their own database by
copying a migrated template (`create_database(name, template=...)`), much cheaper than migrating.

PostgreSQL refuses to run as root. When the suite runs as root (CI containers), every server-side
command runs as the unprivileged `postgres` OS user, in a directory that user owns; otherwise it
runs as the current user. There is deliberately no skip: without PostgreSQL the tests fail, loudly,
because the suite promises to cover both stores.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

PG_SEARCH_GLOB = "/usr/lib/postgresql/*/bin"
SERVER_USER = "postgres"
# Written into postgresql.conf: speed over durability, room for concurrency tests.
SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}
# The durable profile (the benchmark's default): PostgreSQL's own defaults, written out so that the
# cluster's configuration says so; `settings_in_force()` reads them back from the running server.
DURABLE_SETTINGS = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "max_connections": "200",
}
START_TIMEOUT = 30.0
# Creating a database copies every page of the template; on a tmpfs that is ~5x faster than on a
# disk-backed /tmp. Used only when it has room to spare (container defaults can be 64 MiB).
RAM_DISK = Path("/dev/shm")
RAM_DISK_MIN_FREE = 1 << 30


class PostgresNotFoundError(RuntimeError):
    """No PostgreSQL server binaries (`initdb`, `pg_ctl`) on this machine."""


def find_bindir() -> Path:
    """The directory holding `initdb`, `pg_ctl` and `postgres`.

    Debian installs each major version under /usr/lib/postgresql/<major>/bin and puts only client
    tools on PATH, so look there first (highest version wins), then on PATH.
    """
    candidates = [Path(p) for p in glob.glob(PG_SEARCH_GLOB)]
    candidates.sort(key=lambda p: _version_key(p.parent.name), reverse=True)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    initdb = shutil.which("initdb")
    if initdb is not None:
        bindir = Path(initdb).resolve().parent
        if (bindir / "pg_ctl").is_file():
            return bindir
    raise PostgresNotFoundError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found in "
        f"{PG_SEARCH_GLOB} or on PATH. The test suite runs every store test on PostgreSQL too; "
        "install Debian's `postgresql` package (`make test` does this when run as root)."
    )


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresCluster:
    """A private PostgreSQL server: `start()`, hand out URLs and databases, `stop()`.

    Usable as a context manager. Superuser `postgres`, trust authentication, TCP on 127.0.0.1 only
    (the unix socket lives in the cluster's own directory, so it never collides with a system one).
    """

    host = "127.0.0.1"
    user = "postgres"

    def __init__(self, bindir: Path | None = None, *, durable: bool = False) -> None:
        self.bindir = bindir
        self.durable = durable
        self.port = 0
        self.pid: int | None = None
        self.basedir: Path | None = None
        self._admin: psycopg.Connection[tuple[object, ...]] | None = None
        self._run_as: pwd.struct_passwd | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        if self.pid is not None:
            raise RuntimeError("cluster already started")
        if self.bindir is None:
            self.bindir = find_bindir()
        self._run_as = _server_user()
        parent = _durable_parent() if self.durable else _scratch_parent()
        self.basedir = Path(tempfile.mkdtemp(prefix="payoutkit-pg-", dir=parent))
        try:
            if self._run_as is not None:
                os.chown(self.basedir, self._run_as.pw_uid, self._run_as.pw_gid)
            self._initdb()
            # A port picked by bind-and-close can be taken before the server binds it: retry.
            for attempt in range(3):
                self.port = free_port(self.host)
                self._configure()
                try:
                    self._pg_ctl("start", "-w", "-t", str(int(START_TIMEOUT)), "-l", str(self.log))
                    break
                except subprocess.CalledProcessError:
                    if attempt == 2 or "could not bind" not in self.log_tail():
                        raise
            self.pid = self._read_pid()
            self._wait_until_accepting()
        except BaseException as exc:
            log = self.log_tail()
            self.stop()
            if isinstance(exc, subprocess.CalledProcessError):
                raise RuntimeError(
                    f"PostgreSQL failed: {exc.cmd!r} exited {exc.returncode}\n"
                    f"stdout/stderr:\n{exc.stdout}{exc.stderr}\nserver log:\n{log}"
                ) from exc
            raise

    def stop(self) -> None:
        """Stop the server (immediate mode: there is nothing to keep) and delete its directory."""
        if self._admin is not None:
            with contextlib.suppress(psycopg.Error):
                self._admin.close()
            self._admin = None
        if self.basedir is not None and self.pid is not None:
            try:
                self._pg_ctl("stop", "-m", "immediate", "-w", "-t", "10")
            except (subprocess.CalledProcessError, OSError):
                # Last resort, by the pid recorded at start: SIGQUIT is an immediate shutdown.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGQUIT)
            self.pid = None
        if self.basedir is not None:
            shutil.rmtree(self.basedir, ignore_errors=True)
            self.basedir = None

    def __enter__(self) -> PostgresCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses and databases -------------------------------------------------------------------

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL of a database in this cluster."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def conninfo(self, dbname: str = "postgres") -> str:
        """libpq connection string, for talking to the cluster with psycopg directly."""
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.conninfo(dbname), autocommit=True)

    def create_database(self, name: str, template: str | None = None) -> None:
        """CREATE DATABASE, optionally as a copy of `template`.

        PostgreSQL refuses to copy a database someone is connected to, so connections to the
        template are terminated first (a migration tool may leave a pooled connection behind).
        """
        admin = self._admin_connection()
        if template is None:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return
        self.terminate_connections(template)
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
        )

    def drop_database(self, name: str) -> None:
        admin = self._admin_connection()
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def terminate_connections(self, dbname: str) -> None:
        self._admin_connection().execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        )

    def freeze_template(self, dbname: str) -> None:
        """Mark `dbname` a template nobody may connect to, so copying it can never race a client."""
        self._admin_connection().execute(
            sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").format(
                sql.Identifier(dbname)
            )
        )
        self.terminate_connections(dbname)

    # -- internals ---------------------------------------------------------------------------------

    @property
    def datadir(self) -> Path:
        assert self.basedir is not None, "cluster not started"
        return self.basedir / "data"

    @property
    def log(self) -> Path:
        assert self.basedir is not None, "cluster not started"
        return self.basedir / "postgres.log"

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except (OSError, AssertionError):
            return ""

    def _admin_connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self.pid is None:
            raise RuntimeError("cluster not started")
        if self._admin is None or self._admin.closed:
            self._admin = self.connect("postgres")
        return self._admin

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        assert self.bindir is not None
        assert self.basedir is not None
        user = self._run_as
        return subprocess.run(
            [str(self.bindir / program), *args],
            check=True,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            # The server user may not be able to read the caller's working directory.
            cwd=self.basedir,
            env=_server_env(user),
            user=None if user is None else user.pw_uid,
            group=None if user is None else user.pw_gid,
            extra_groups=None if user is None else [],
            timeout=START_TIMEOUT + 30,
        )

    def settings_in_force(self) -> dict[str, str]:
        """The durability settings as the running server reports them (`SHOW`), and its data directory."""
        names = ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "data_directory")
        with self.connect() as conn:
            return {name: str(conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0])  # type: ignore[index]
                    for name in names}  # fmt: skip

    def _initdb(self) -> None:
        self._run(
            "initdb",
            "-D", str(self.datadir),
            "-A", "trust",
            "-U", self.user,
            "-E", "UTF8",
            "--locale=C",
            *(() if self.durable else ("--no-sync",)),
            "--no-instructions",
        )  # fmt: skip

    def _configure(self) -> None:
        settings = {
            **(DURABLE_SETTINGS if self.durable else SERVER_SETTINGS),
            "listen_addresses": f"'{self.host}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.basedir}'",
        }
        conf = self.datadir / "postgresql.auto.conf"
        # postgresql.auto.conf is read last and later lines win: re-running this (new port) is fine.
        # Appending keeps the file's owner (the server user).
        with conf.open("a") as f:
            f.write("\n# payoutkit test cluster\n")
            for key, value in settings.items():
                f.write(f"{key} = {value}\n")

    def _pg_ctl(self, *args: str) -> None:
        action, *rest = args
        self._run("pg_ctl", action, "-D", str(self.datadir), *rest)

    def _read_pid(self) -> int:
        # First line of postmaster.pid is the postmaster's pid.
        return int((self.datadir / "postmaster.pid").read_text().splitlines()[0])

    def _wait_until_accepting(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with self.connect() as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def _scratch_parent() -> str | None:
    """Where to put the cluster: a roomy RAM disk if there is one, else the usual temp dir."""
    if "TMPDIR" in os.environ:
        return None  # the caller chose
    try:
        if RAM_DISK.is_dir() and shutil.disk_usage(RAM_DISK).free >= RAM_DISK_MIN_FREE:
            return str(RAM_DISK)
    except OSError:
        pass
    return None


def _durable_parent() -> str:
    """Where a durable cluster lives: the temp dir, which must be on a disk (a tmpfs loses everything)."""
    parent = tempfile.gettempdir()
    fstype, best = "?", ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and parent.startswith(fields[1]) and len(fields[1]) > len(best):
                best, fstype = fields[1], fields[2]
    if fstype in {"tmpfs", "ramfs"}:
        raise RuntimeError(f"a durable PostgreSQL cluster needs a disk, but {parent} is {fstype}: set TMPDIR")
    return parent


def _server_user() -> pwd.struct_passwd | None:
    """The OS user to run PostgreSQL as: `postgres` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresNotFoundError(
            f"running as root, but there is no {SERVER_USER!r} OS user to run PostgreSQL as "
            "(PostgreSQL refuses to run as root); install Debian's `postgresql` package, "
            "which creates it"
        ) from None


def _server_env(user: pwd.struct_passwd | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    if user is not None:
        env.update(HOME=user.pw_dir, USER=user.pw_name, LOGNAME=user.pw_name)
    return env
