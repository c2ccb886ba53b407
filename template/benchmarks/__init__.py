"""The load benchmark: development tools beside the service, never part of its package
or its image (`uv run python -m benchmarks.bench`)."""
