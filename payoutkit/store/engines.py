"""The engines: how a database URL becomes SQLAlchemy engines, and the caches that live as long as one.

SQLite: WAL, `synchronous=NORMAL`, and BEGIN sent by us (`BEGIN IMMEDIATE` for a unit that writes,
a deferred `BEGIN` for one that reads). PostgreSQL: psycopg 3, one engine for the units that write and
one for the units that read (`make_read_engine`), and the server's event loop a pair of its own
(`make_async_engines`). `store/db.py` and `store/aio.py` run the units on them.
"""

from __future__ import annotations

import weakref
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool

from payoutkit.store.fast import driver_sql
from payoutkit.store.pipeline import keep_order

# Execution option: a connection whose units only read (SQLite: a deferred BEGIN).
READONLY = "payoutkit_readonly"
# Connection.info key: the unit of work now beginning only reads (`Database.read`).
READ_UNIT = "payoutkit_read_unit"
# Connection.info key: the units of work on this connection begin and end on the driver (`Database.
# _grouped`, `_inline_read`); SQLAlchemy's transaction on it stays open and sends no BEGIN.
DRIVER_UNITS = "payoutkit_driver_units"


def normalize_url(url: str) -> str:
    """Accept `postgresql://` and `postgres://` for the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


# JSON columns through orjson, on every engine
_JSON: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


def make_engine(url: str, *, pool_size: int = 16) -> Engine:
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            poolclass=QueuePool,
            pool_size=2,
            max_overflow=4,
            connect_args={"check_same_thread": False, "timeout": 30},
            **_JSON,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            if conn.info.get(DRIVER_UNITS):
                return  # its units send their own BEGIN (Database._grouped)
            readonly = conn.get_execution_options().get(READONLY, False) or conn.info.pop(READ_UNIT, False)
            driver_sql(conn, "BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    # The driver autocommits: a transaction's BEGIN is ours, kept until a statement needs it (pipeline.py)
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False,
                           isolation_level="AUTOCOMMIT", **_JSON)  # fmt: skip
    keep_order(engine)
    return engine


READ_ONLY_SESSION = "-c default_transaction_read_only=on"


def make_read_engine(url: str, pool_size: int, caches_of: Engine) -> Engine:
    """PostgreSQL: the engine of read units (`Database.read`), in autocommit and read only by the
    session's default: each statement a read-only transaction, no BEGIN or COMMIT sent. Its units share
    the `engine_cache`s of `caches_of`."""
    engine = create_engine(normalize_url(url), pool_size=pool_size, max_overflow=pool_size,
                           isolation_level="AUTOCOMMIT", connect_args={"options": READ_ONLY_SESSION},
                           **_JSON)  # fmt: skip
    _CACHES_OF[engine] = caches_of
    return engine


def make_async_engines(url: str, pool_size: int, caches_of: Engine) -> tuple[AsyncEngine, AsyncEngine]:
    """PostgreSQL: the engines of units run on the event loop (store/aio.py) through psycopg's async
    connection, made as `make_engine`'s and `make_read_engine`'s are; their units share the
    `engine_cache`s of `caches_of`."""
    url = normalize_url(url)
    write = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size,
                                isolation_level="AUTOCOMMIT", **_JSON)  # fmt: skip
    read = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, isolation_level="AUTOCOMMIT",
                               connect_args={"options": READ_ONLY_SESSION}, **_JSON)  # fmt: skip
    keep_order(write.sync_engine)
    _CACHES_OF[write.sync_engine] = caches_of
    _CACHES_OF[read.sync_engine] = caches_of
    return write, read


def engine_cache(conn: Connection, name: str) -> dict[Any, Any]:
    """A cache that lives as long as this database's engine (one per database, never shared; the read
    engine's units see its writing engine's)."""
    engine = conn.engine
    caches = _ENGINE_CACHES.setdefault(_CACHES_OF.get(engine, engine), {})
    return caches.setdefault(name, {})


_ENGINE_CACHES: weakref.WeakKeyDictionary[Engine, dict[str, dict[Any, Any]]] = weakref.WeakKeyDictionary()
# A read engine (`make_read_engine`) → the engine whose caches its units share.
_CACHES_OF: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
