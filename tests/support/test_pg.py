"""CI proves PostgreSQL is really there: the throwaway cluster starts and answers queries."""

from __future__ import annotations

from pathlib import Path

import psycopg

from devtools.pg import PostgresCluster


def test_cluster_accepts_connections(pg_cluster: PostgresCluster) -> None:
    with psycopg.connect(pg_cluster.conninfo()) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
        version = conn.execute("show server_version_num").fetchone()
    assert version is not None
    assert int(str(version[0])) >= 140000


def test_cluster_runs_with_test_settings(pg_cluster: PostgresCluster) -> None:
    with psycopg.connect(pg_cluster.conninfo()) as conn:
        settings: dict[object, object] = dict(
            conn.execute(
                "select name, setting from pg_settings where name = any(%s)",
                (["fsync", "max_connections", "listen_addresses"],),
            ).fetchall()
        )
    assert settings == {"fsync": "off", "max_connections": "200", "listen_addresses": "127.0.0.1"}


def test_databases_copied_from_a_template_carry_its_schema(pg_cluster: PostgresCluster) -> None:
    pg_cluster.create_database("test_pg_template")
    with psycopg.connect(pg_cluster.conninfo("test_pg_template"), autocommit=True) as conn:
        conn.execute("create table ledger (id bigint primary key, amount bigint not null)")
        conn.execute("insert into ledger values (1, 100)")
    # A connection left open on the template must not stop the copy.
    with psycopg.connect(pg_cluster.conninfo("test_pg_template"), autocommit=True):
        pg_cluster.create_database("test_pg_copy", template="test_pg_template")
    try:
        with psycopg.connect(pg_cluster.conninfo("test_pg_copy")) as conn:
            assert conn.execute("select amount from ledger").fetchall() == [(100,)]
    finally:
        pg_cluster.drop_database("test_pg_copy")
        pg_cluster.drop_database("test_pg_template")


def test_url_is_a_sqlalchemy_psycopg_url(pg_cluster: PostgresCluster) -> None:
    assert pg_cluster.url("x") == f"postgresql+psycopg://postgres@127.0.0.1:{pg_cluster.port}/x"


def test_the_durable_profile_runs_on_disk_with_durability_on() -> None:
    """The benchmark's PostgreSQL (bench/run.py's default): its figures claim durability, so its cluster
    must have it: fsync, synchronous_commit and full_page_writes on, its data on a disk, not a tmpfs."""
    with PostgresCluster(durable=True) as cluster:
        settings = cluster.settings_in_force()
        assert cluster.basedir is not None
        assert not str(cluster.basedir).startswith("/dev/shm")
        mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
        where = max((m for m in mounts if str(cluster.basedir).startswith(m[1])), key=lambda m: len(m[1]))
    assert where[2] not in {"tmpfs", "ramfs"}
    durability = (settings["fsync"], settings["synchronous_commit"], settings["full_page_writes"])
    assert durability == ("on", "on", "on")
