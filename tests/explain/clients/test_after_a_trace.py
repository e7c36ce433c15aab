"""LLM calls made after the model has run, each in a fresh process as a user runs it.

nnsight mounts `.save` onto `object` on a process's first trace; anyio, which httpx uses, creates classes
lazily that reject it. In the test process anyio is loaded long before any trace, which hid the crash, so
each of these tests starts a new interpreter: model first, then an LLM call over real HTTP on loopback.
"""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def explainer_and_detector(prompt: str):
    """Answers every request the CLI makes: explanations, then one 0/1 label per detection example."""
    if "one key per example" in prompt:
        n = len(re.findall(r"^\d+\. ", prompt, re.M))
        return 200, json.dumps({str(i + 1): i % 2 for i in range(n)}), 0
    if "FACTS (JSON)" in prompt:
        return 200, json.dumps({"claims": []}), 0
    return 200, json.dumps({"explanation": "Words in running text", "confidence": 0.5}), 0


def run(args: list[str], timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_cli_analyze_with_an_llm_after_loading_the_model(tiny_workspace, tmp_path, llm_server):
    import shutil

    ws = shutil.copytree(tiny_workspace, tmp_path / "ws", ignore=shutil.ignore_patterns("explanations"))
    srv = llm_server(explainer_and_detector)
    args = ["-m", "autointerp", "analyze", "--workspace", str(ws), "--llm", "openai", "--base-url", f"{srv.url}/v1"]
    out = run([*args, "--json", "The cat sat on the mat."])
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Traceback" not in out.stderr and srv.calls
    rows = json.loads(out.stdout)
    assert {r["status"] for r in rows} <= {"scored", "insufficient-data", "unscored"}
    assert all(r["explanation"] == "Words in running text" for r in rows)


LIBRARY = """
import asyncio, json, sys
{before}
from autointerp import KMeansAutoInterp
from autointerp.explain.clients import OpenAICompatibleClient

interp = KMeansAutoInterp.from_workspace(sys.argv[1], cache_dir=sys.argv[3])
client = OpenAICompatibleClient("m", base_url=sys.argv[2], backoff=0.01, retries=0)
analysis = asyncio.run(interp.analyze("The cat sat on the mat.", llm_client=client))
print(json.dumps({{
    "mounted": "save" in vars(object),
    "status": sorted({{e.metadata["status"] for e in analysis.explanations.values()}}),
    "errors": sorted({{e.metadata.get("error", "") for e in analysis.explanations.values()}}),
}}))
"""


def library(before: str, ws: Path, url: str, cache: Path) -> dict:
    out = run(["-c", textwrap.dedent(LIBRARY.format(before=before)), str(ws), url, str(cache)])
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_library_with_nnsight_mount_on(tiny_workspace, tmp_path, llm_server):
    """A notebook keeps nnsight's default (its own traces may call `.save()`): the model runs, then the LLM."""
    srv = llm_server(explainer_and_detector)
    res = library("", tiny_workspace, f"{srv.url}/v1", tmp_path / "cache")
    assert res["mounted"], "the test must run the LLM call with `.save` mounted, as nnsight does by default"
    assert res["status"] and set(res["status"]) <= {"scored", "insufficient-data", "unscored"}


def test_a_trace_before_autointerp_is_imported_is_a_clear_error(tiny_workspace, tiny_model_dir, tmp_path, llm_server):
    """A user's own trace ran before autointerp was imported: no TypeError, a failure that says what to do."""
    before = f"""
import torch, nnterp
m = nnterp.StandardizedTransformer({str(tiny_model_dir)!r}, check_renaming=False, dispatch=True)
with m.trace(torch.tensor([[1, 2, 3]])):
    out = m.layers_output[0].save()
"""
    srv = llm_server(explainer_and_detector)
    res = library(before, tiny_workspace, f"{srv.url}/v1", tmp_path / "cache")
    assert res["mounted"] and res["status"] == ["failed"] and not srv.calls
    assert all("Import autointerp before your first trace" in e for e in res["errors"])
