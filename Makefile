# Every target builds .venv first, so a fresh machine with python3 and make is enough.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SEEDS ?= 2000

.PHONY: install run test test-fast sim bench bench-messaging bench-commit proto clean

install: $(STAMP)

# setup.py builds the optional C extensions; a changed .c file rebuilds them.
$(STAMP): pyproject.toml setup.py src/ranvier/eventstore/_native.c src/ranvier/eventstore/_syncer.c
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Starts one node in standalone mode: ready at once with the `default` context.
run: install
	AXONIQ_AXONSERVER_STANDALONE=true $(VENV)/bin/ranvier server

test: install
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m 'not slow'

sim: install
	$(PY) -m ranvier.testing.raftsim --seeds $(SEEDS)

bench: install
	$(VENV)/bin/ranvier bench

# Command/query round trips: one node, forwarded across a 3-node cluster, bare grpc.aio.
bench-messaging: install
	$(VENV)/bin/ranvier bench messaging

# The node's own write path without gRPC: loop CPU per event, steadier than whole-server runs.
bench-commit: install
	$(PY) bench/commit_path.py

proto: install
	$(PY) scripts/gen_proto.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
