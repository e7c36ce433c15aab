"""Core benchmarks, each against its baseline in the same run, interleaved and repeated; ratios are the result.

    .venv/bin/python bench/bench_core.py [--quick]

Rows:
  1. activation collection at layer 6 of 30: nnterp early stop vs HF full forward with output_hidden_states
  2. top-k examples for one centroid: index slice vs brute-force distance scan of all validation tokens
  3. sentence analysis, warm with explanations cached: analyze() vs one HF full forward of the same sentence
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autointerp.activations import layer_activations  # noqa: E402
from autointerp.corpus import make_windows, read_corpus  # noqa: E402
from autointerp.index import TokenRecords, ValidationIndex  # noqa: E402
from autointerp.kmeans import fit_kmeans, nearest_two, normalise  # noqa: E402
from autointerp.models import load_model, sink_token_id  # noqa: E402


def interleaved(fns: dict[str, callable], repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return times


def fmt(ts: list[float]) -> str:
    med = statistics.median(ts)
    spread = (max(ts) - min(ts)) / 2
    return f"{med * 1000:.1f} ms ± {spread * 1000:.1f}"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    repeats = 3 if args.quick else 7
    rows = []
    torch.manual_seed(0)
    model = load_model("embedded", device="cpu", dtype="bfloat16")
    tok = model.tokenizer
    hf = model._model if hasattr(model, "_model") else model
    docs = read_corpus("embedded:enwiki")
    windows = make_windows(docs, tok, 64, {"train": 2048, "val": 30_000, "heldout": 64}, 0)
    batch = windows["train"].windows[:32]
    sink = sink_token_id(tok)
    ids = torch.tensor([[sink] + w for w in batch if len(w) == 64])
    mask = torch.ones_like(ids)
    n_tok = ids.numel()

    def ours():
        layer_activations(model, ids, mask, 6, "layer_output")

    def baseline():
        with torch.no_grad():
            hf(input_ids=ids, attention_mask=mask, output_hidden_states=True)

    t = interleaved({"ours": ours, "base": baseline}, repeats)
    ratio = statistics.median(t["base"]) / statistics.median(t["ours"])
    rows.append(
        (
            "activation collection, layer 6/30, 32×65 tokens, bf16",
            fmt(t["ours"]),
            fmt(t["base"]),
            f"{ratio:.2f}× faster",
            f"{n_tok / statistics.median(t['ours']):,.0f} tok/s vs {n_tok / statistics.median(t['base']):,.0f} tok/s",
            "≥ 4×",
        )
    )

    # top-k from the index vs a brute-force scan, on real validation activations
    acts = []
    for w in range(0, len(windows["val"].windows), 32):
        chunk = windows["val"].windows[w : w + 32]
        width = max(len(x) for x in chunk) + 1
        ii = torch.full((len(chunk), width), sink)
        mm = torch.zeros_like(ii)
        for r, x in enumerate(chunk):
            ii[r, 1 : len(x) + 1] = torch.tensor(x)
            mm[r, : len(x) + 1] = 1
        a = layer_activations(model, ii, mm, 6, "layer_output").float()
        acts.append(a[:, 1:][mm[:, 1:].bool()])
    x = torch.cat(acts)
    center = x.mean(0)
    xn = normalise(x, center, "cosine")
    km = fit_kmeans(xn, 256, iters=10, seed=0, spherical=True)
    near = nearest_two(xn, km.centroids)
    n = len(xn)
    rec = TokenRecords.from_batch(near, torch.arange(n), torch.arange(n), torch.arange(n), x.norm(dim=1))
    t0 = time.perf_counter()
    index = ValidationIndex(rec, 256)
    build_s = time.perf_counter() - t0
    cid = int(np.argmax(index.counts))
    raw_x = x.clone()

    def index_query():
        index.members(cid, 10)

    def brute():
        xs = normalise(raw_x, center, "cosine")
        d = torch.cdist(xs, km.centroids)
        members = (d.argmin(1) == cid).nonzero().flatten()
        return members[d[members, cid].argsort()[:10]]

    t = interleaved({"ours": index_query, "base": brute}, repeats)
    overlap = len(set(index.members(cid, 10).tolist()) & set(brute().tolist()))
    assert overlap >= 8, f"index and brute force disagree ({overlap}/10 shared; only float near-ties may differ)"
    ratio = statistics.median(t["base"]) / statistics.median(t["ours"])
    bytes_per_tok = sum(np.asarray(getattr(rec, f)).itemsize for f in rec.__dataclass_fields__) + 8
    ours_us = statistics.median(t["ours"]) * 1e6
    rows.append(
        (
            f"top-10 examples, one centroid, {n:,} validation tokens",
            f"{ours_us:.1f} µs",
            fmt(t["base"]),
            f"{ratio:,.0f}× faster",
            f"index {bytes_per_tok} B/token, built in {build_s * 1000:.1f} ms",
            "—",
        )
    )

    print(
        f"\nMachine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}; peak RSS {peak_rss_mb():,.0f} MB\n"
    )
    print("| row | ours (median ± half-range) | baseline | ratio | throughput / notes | target |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
