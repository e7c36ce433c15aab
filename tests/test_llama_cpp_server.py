"""Against a real OpenAI-compatible server: llama.cpp (llama-cpp-python's server) running the embedded
SmolLM2-135M GGUF on loopback, as a user would run a local model. CLI runs are fresh processes, as users run
them: the model runs first, then the LLM calls.

Asserted: no traceback, structured answers parsed, and every cached explanation either measured or
explicitly unscored. Skipped only where llama-cpp-python[server] is not installed (CI installs it through
requirements-llm-server.txt).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from autointerp import CentroidExplanationCache
from autointerp.core.models import GGUF_FILE, GGUF_PACKAGE

ROOT = Path(__file__).resolve().parents[1]
ALIAS = "smollm2-135m"
SERVER_PACKAGES = ("llama_cpp", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings", "uvicorn")
pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(p) is None for p in SERVER_PACKAGES),
    reason="llama-cpp-python[server] is not installed (bash scripts/install.sh --dev installs it)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory) -> str:
    """The base URL of a llama.cpp server on loopback; its log is shown if it fails to start."""
    gguf = Path(importlib.util.find_spec(GGUF_PACKAGE).submodule_search_locations[0]) / GGUF_FILE
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", ALIAS]
    # The server's default threads (half the cores): more threads than free cores makes llama.cpp far slower.
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2).read()
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"the llama.cpp server did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture()
def fresh_ws(real_workspace, tmp_path) -> Path:
    """The embedded workspace with no explanations yet, so every run below calls the LLM."""
    skip = shutil.ignore_patterns("explanations")
    return Path(shutil.copytree(real_workspace, tmp_path / real_workspace.name, ignore=skip))


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "autointerp", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def llm_flags(url: str) -> list[str]:
    return ["--llm", "openai", "--llm-model", ALIAS, "--base-url", url]


def assert_cache_measured_or_unscored(ws: Path) -> list:
    """Every cached entry has a measured score or says it is unscored and why; none is a failure."""
    recs = CentroidExplanationCache(ws / "explanations").all()
    for r in recs:
        status, score = r.metadata["status"], r.metadata["score"]
        assert status in ("scored", "insufficient-data", "unscored"), (r.centroid_id, status)
        if status == "scored":
            assert score["balanced_accuracy"] is not None and 0.0 <= r.confidence <= 1.0
        else:
            assert r.confidence == 0.0 and score["balanced_accuracy"] is None and score["detail"]
    return recs


def test_structured_answers_from_llama_cpp(llama_server):
    from autointerp.explain.clients import OpenAICompatibleClient
    from autointerp.explain.clients.protocol import parse_json_object
    from autointerp.explain.prompts.explain import SCHEMA as EXPLANATION_SCHEMA

    client = OpenAICompatibleClient(ALIAS, base_url=llama_server)
    text = asyncio.run(client.complete("Name the concept of: the, a, an.", 80, EXPLANATION_SCHEMA))
    answer = parse_json_object(text)
    assert isinstance(answer["explanation"], str) and isinstance(answer["confidence"], (int, float))
    # llama-cpp-python's server refuses the json_schema type, and enforces json_object with a schema
    assert client.structured_mode == "json_object"


def test_detection_scoring_through_llama_cpp(llama_server):
    """The detection scorer end to end: every batch's labels are read from the structured answer."""
    from autointerp.explain.clients import OpenAICompatibleClient
    from autointerp.explain.explainers.contract import ExplanationDraft, TokenEvidence
    from autointerp.explain.scorers.balanced_accuracy import ScoringSet
    from autointerp.explain.scorers.detection import DetectionScorer

    def ev(word: str, sentence: str) -> TokenEvidence:
        return TokenEvidence(word, sentence.replace(word, f"<<{word}>>", 1), set(), 1.0, 0.1)

    numbers = ["three", "seven", "twelve", "forty", "nine", "two", "eleven", "six", "eighty", "five"]
    animals = ["cat", "horse", "sparrow", "whale", "fox", "otter", "lion", "crow", "goat", "eel"]
    data = ScoringSet(
        [ev(w, f"She counted {w} boats.") for w in numbers],
        [ev(w, f"She saw a {w} there.") for w in animals[:5]],
        [ev(w, f"A {w} ran past.") for w in animals[5:]],
    )
    client = OpenAICompatibleClient(ALIAS, base_url=llama_server)
    score = asyncio.run(DetectionScorer(client, sample=10).score(ExplanationDraft("Number words", "test"), data))
    assert score.status == "scored" and score.balanced_accuracy is not None
    assert (score.n_pos, score.n_hard, score.n_random) == (10, 5, 5)


def test_cli_explain(llama_server, fresh_ws):
    out = cli(
        "explain", "--workspace", str(fresh_ws), "--ids", "0", "--concurrency", "1", "--json", *llm_flags(llama_server)
    )
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr[-3000:]
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    assert (counts["cached"], counts["generated"], counts["failed"]) == (0, 1, 0)
    (rec,) = assert_cache_measured_or_unscored(fresh_ws)
    # the explanation was read from a structured answer, and measured: exactly when its text reads as a
    # rule, else by detection whose labels were read from structured answers (no scoring error)
    assert rec.metadata["explainer"] == "llm:openai-compatible" and rec.explanation.strip()
    assert rec.metadata["status"] in ("scored", "insufficient-data") and "error" not in rec.metadata
    assert rec.metadata["score"]["method"] in ("llm-detection", "exact-rule")


def test_cli_analyze_then_meta(llama_server, fresh_ws):
    sentence = "The"  # one token, one centroid to explain: about ten LLM calls
    out = cli("analyze", "--workspace", str(fresh_ws), "--json", *llm_flags(llama_server), sentence)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr[-3000:]
    rows = json.loads(out.stdout)
    assert "".join(r["token_str"] for r in rows) == sentence
    assert {r["status"] for r in rows} <= {"scored", "insufficient-data", "unscored"}
    recs = assert_cache_measured_or_unscored(fresh_ws)
    assert {r.centroid_id for r in recs} == {r["centroid_id"] for r in rows}
    out = cli("meta", "--workspace", str(fresh_ws), *llm_flags(llama_server), sentence)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr[-3000:]
    assert "centroid" in out.stdout  # grounded claims, or the offline summary with the LLM's failure said


def test_dashboard_sentence_page_with_llama_cpp(llama_server, fresh_ws, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("AUTOINTERP_WORKSPACES", str(fresh_ws.parent))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.session_state["explainer_choice"] = "OpenAI-compatible"
    at.session_state["llm_base_url"] = llama_server
    at.session_state["llm_model"] = ALIAS
    at.session_state["sentence"] = "War"
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert not any("The LLM failed" in w.value for w in at.warning), [w.value for w in at.warning]
    recs = assert_cache_measured_or_unscored(fresh_ws)
    assert recs and all(r.metadata["explainer"] == "llm:openai-compatible" for r in recs)
    assert "centroid" in at.code[0].value  # the meta-interpretation
