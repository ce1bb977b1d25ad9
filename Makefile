# Two entry points, both self-contained on a fresh machine with Python >= 3.11:
#   make demo   set up .venv and run the main job (the verifier with the demo flow)
#   make test   set up .venv and run the whole gate (ruff, mypy, pytest)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Every install into .venv takes the tested versions (constraints.txt says why and how to move).
PIP    := $(BIN)/python -m pip install --quiet --constraint constraints.txt

.PHONY: demo test lint typecheck unit bench clean native

$(STAMP): pyproject.toml setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	AGENTVP_NATIVE_BUILD=0 $(PIP) -e '.[dev]'
	$(MAKE) --no-print-directory native
	touch $(STAMP)

# Compile the per-presentation protocol modules (verifier/native.py lists them) with Cython
# into verifier/_native/, for this checkout (an editable install does not keep built
# extensions). Run it again after editing one of them: until then that module runs as Python.
# The OpenSSL bindings (native.BINDINGS: ECDSA, SHA-2) also need its headers (Debian libssl-dev).
# Never fails: without a C compiler every module runs as Python (and cryptography verifies).
native:
	$(PIP) 'setuptools>=77' 'Cython>=3.1,<4'
	$(BIN)/python setup.py --quiet build_ext --inplace
	@$(BIN)/python -c 'from verifier import native; print(native.summary(native.loaded_states(), native.binding_states()))'

demo: $(STAMP)
	$(BIN)/agentvp demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The MCP conformance suite and the Node >= 22 that runs it, pinned in tests/conformance
# (tests/oauth/test_conformance.py); needs npm (Debian: apt-get install npm).
CONFORMANCE := tests/conformance/node_modules/.installed-stamp

$(CONFORMANCE): tests/conformance/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "make: npm is needed for the MCP conformance suite (apt-get install npm)"; exit 1; }
	npm ci --prefix tests/conformance --no-audit --no-fund --loglevel=error
	touch $(CONFORMANCE)

unit: $(STAMP) $(CONFORMANCE)
	$(BIN)/pytest -q

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python bench/verify.py

clean:
	rm -rf $(VENV) build verifier/_native *.egg-info .mypy_cache .pytest_cache .ruff_cache

# HTTP load benchmark (bench/load.py): SQLite, Redis, 2 workers on Redis, pending-transaction
# scaling, in-process comparison; writes bench/results/load.json and load.png (~10 minutes).
# Installs the `bench` extra and, with apt-get (as root), redis-server if it is missing.
.PHONY: bench-load
bench-load: $(STAMP)
	$(PIP) -e '.[bench]'
	@command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || \
		{ echo "bench-load: installing redis-server"; \
		  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		    redis-server >/dev/null; }
	$(BIN)/python bench/load.py $(BENCH_ARGS)

# Fuzz every parser of untrusted input (bench/fuzz.py, the generators of tests/fuzz): 50,000
# inputs each, ~2 minutes; writes bench/results/fuzz.txt and fails on any unexpected exception.
# FUZZ_ARGS: e.g. --count 5000, --seed 7, --only dpop,jwe.
.PHONY: fuzz
fuzz: $(STAMP)
	$(BIN)/python bench/fuzz.py --out bench/results/fuzz.txt $(FUZZ_ARGS)
