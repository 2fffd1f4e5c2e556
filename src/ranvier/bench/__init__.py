"""`ranvier bench`: the node's benchmark, driven by a compiled load generator.

`main` builds `bench/loadgen` (Go) into a cache directory, measures a bare
grpc.aio server (`bench/raw_server.py`) as the ceiling, starts a fresh node,
runs every workload against it and prints one table. `pyload` is the
multi-process Python client used only when Go is not installed; its numbers
measure the client as much as the server and are labelled so. See
docs/BENCHMARKS.md.
"""
