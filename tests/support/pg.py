"""The throwaway PostgreSQL cluster moved to devtools/pg.py (shared with bench/); kept for old imports."""

from devtools.pg import PostgresCluster, find_bindir, free_port

__all__ = ["PostgresCluster", "find_bindir", "free_port"]
