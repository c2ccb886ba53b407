"""Keeps the rendered service's embedded database up for the comparison, migrated and
seeded; prints its URLs as JSON, then waits until its standard input closes."""

import asyncio
import json
import os
import sys
from importlib import import_module

package = sys.argv[1]
# The project's directory: its benchmarks/ sit beside its package.
sys.path.insert(0, os.getcwd())
config = import_module(f"{package}.settings")
engine = import_module(f"{package}.db.engine")
bench = import_module("benchmarks.bench")

urls = engine.database_urls(config.get_settings())
bench.migrate(urls)
asyncio.run(bench.seed(urls, bench.BenchOptions(seed_users=1000, items_per_user=100), "unused"))
print(json.dumps({"app": urls.app, "migration": urls.migration}), flush=True)
sys.stdin.read()
