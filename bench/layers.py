"""Stacks against single layers, in the same run: the build and `analyze --layers`.

    .venv/bin/python bench/layers.py [--quick] [--rounds N] [--layers 3,6,9,12]

Rows (targets from issue 10):
- build: a stack of the listed layers against one build of its deepest layer, each in a fresh process
  (model load excluded, peak RSS reported), rounds interleaved; target <= 2.0x.
- analyze: `StackInterp.analyze` (one forward pass, every layer) against `KMeansAutoInterp.analyze` at the
  deepest layer, warm (explanations cached), interleaved; target <= 1.3x.
Prints the machine (CPU model, cores, load) and a Markdown table, also written to bench/out/layers.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from autointerp.config import RunOptions

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autointerp.config import BuildConfig, parse_layers  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_model  # noqa: E402
from sections import write_section  # noqa: E402

SHORT = "The quick brown fox jumps over the lazy dog."
PARAGRAPH = (
    "Aristotle was a Greek philosopher and polymath during the Classical period in Ancient Greece. "
    "Taught by Plato, he was the founder of the Lyceum, the Peripatetic school of philosophy, and the "
    "Aristotelian tradition. His writings cover many subjects including physics, biology, zoology, "
    "metaphysics, logic, ethics, aesthetics, poetry, drama, music, rhetoric, psychology, linguistics, "
    "economics, politics, meteorology, geology, and government."
)


def peak_rss_mb() -> float:
    """VmHWM: this process's peak RSS."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def med(ts: list[float]) -> float:
    return statistics.median(ts)


def fmt(ts: list[float], unit: str) -> str:
    scale = {"ms": 1e3, "s": 1.0}[unit]
    return f"{med(ts) * scale:,.1f} {unit} ± {(max(ts) - min(ts)) / 2 * scale:,.1f}"


def config(quick: bool) -> BuildConfig:
    """The default build (k=256, 65,536/40k/25k tokens) or a quick one; spaCy tagging off, because the
    stack tags once for all layers and would flatter the ratio."""
    if quick:
        return BuildConfig(train_tokens=30_000, val_tokens=10_000, heldout_tokens=8_000, k=128, pos_tags=False)
    return BuildConfig(pos_tags=False)


def child(kind: str, layers: str, root: str, quick: bool) -> None:
    """One build in this fresh process; prints its time (model load excluded) and peak RSS as JSON."""
    from autointerp.core.models import load_model
    from autointerp.stack.folder import build_stack
    from autointerp.workspace import build_workspace

    cfg = config(quick)
    model = load_model(cfg.model, dtype=cfg.dtype)
    wanted = parse_layers(layers)
    t, c = time.perf_counter(), time.process_time()
    if kind == "stack":
        path = build_stack(cfg, wanted, root, options=RunOptions(model=model, force=True))
    else:
        path = build_workspace(cfg.with_(layer=wanted[-1]), root, options=RunOptions(model=model, force=True))
    took = {"s": time.perf_counter() - t, "cpu_s": time.process_time() - c}
    print(json.dumps({**took, "peak_mb": peak_rss_mb(), "path": str(path)}))


def run_child(kind: str, layers: str, root: Path, quick: bool) -> dict:
    cmd = [sys.executable, __file__, "--_child", kind, "--layers", layers, "--_root", str(root)]
    cmd += ["--threads", str(torch.get_num_threads())]
    out = subprocess.run(cmd + (["--quick"] if quick else []), capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def row_build(layers: list[int], rounds: int, root: Path, quick: bool) -> tuple[list[str], Path]:
    spec, deepest = ",".join(map(str, layers)), str(layers[-1])
    times: dict[str, list[float]] = {"single": [], "stack": []}
    cpu: dict[str, list[float]] = {"single": [], "stack": []}
    peaks: dict[str, float] = {"single": 0.0, "stack": 0.0}
    stack_path = Path()
    for r in range(rounds):
        order = ("single", "stack") if r % 2 == 0 else ("stack", "single")
        for kind in order:
            got = run_child(kind, spec if kind == "stack" else deepest, root / kind, quick)
            times[kind].append(got["s"])
            cpu[kind].append(got["cpu_s"])
            peaks[kind] = max(peaks[kind], got["peak_mb"])
            if kind == "stack":
                stack_path = Path(got["path"])
            print(f"[build] {kind}: {got['s']:.1f} s", file=sys.stderr, flush=True)
    ratio = med(times["stack"]) / med(times["single"])
    cpu_ratio = med(cpu["stack"]) / med(cpu["single"])
    cfg = config(quick)
    tokens = cfg.train_tokens + cfg.val_tokens + cfg.heldout_tokens
    row = [
        f"build a {len(layers)}-layer stack (layers {spec}), k={cfg.k}, {tokens:,} tokens",
        f"{fmt(times['stack'], 's')}, peak RSS {peaks['stack']:,.0f} MB",
        f"one build of layer {deepest}: {fmt(times['single'], 's')}, peak RSS {peaks['single']:,.0f} MB",
        f"**{ratio:.2f}×**",
        f"CPU time {med(cpu['stack']):,.0f} s vs {med(cpu['single']):,.0f} s (**{cpu_ratio:.2f}×**); "
        f"{rounds} round(s), fresh process each, {torch.get_num_threads()} torch thread(s), model load excluded; "
        f"one forward pass to layer {deepest} "
        f"serves every layer, then {len(layers)} k-means fits and indexes; spaCy tagging off",
        "≤ 2.0× " + ("✅" if ratio <= 2.0 else "❌"),
    ]
    return row, stack_path


def interleaved(
    fns: dict[str, Callable[[], object]], repeats: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall-clock and CPU seconds (all threads of this process) of each call, alternating the calls. On a
    shared machine the CPU time is the steadier of the two: waiting for a core does not count."""
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t, c = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    return wall, cpu


def rows_analyze(stack_path: Path, repeats: int) -> list[list[str]]:
    from autointerp.stack_interp import StackInterp

    stacked = StackInterp.open(stack_path)
    deepest = stacked.layers[-1]
    single = stacked.interps[deepest]
    out = []
    for name, text in (("10-token sentence", SHORT), ("paragraph", PARAGRAPH)):
        asyncio.run(stacked.analyze(text))  # warm: explain every centroid this text uses, at every layer
        n = len(asyncio.run(single.analyze(text)).rows)
        times, cpu = interleaved(
            {
                "stack": lambda t=text: asyncio.run(stacked.analyze(t)),
                "single": lambda t=text: asyncio.run(single.analyze(t)),
            },
            repeats,
        )
        ratio = med(times["stack"]) / med(times["single"])
        cpu_ratio = med(cpu["stack"]) / med(cpu["single"])
        out.append(
            [
                f"analyze --layers {','.join(map(str, stacked.layers))}, {name} ({n} tokens), warm",
                fmt(times["stack"], "ms"),
                f"analyze at layer {deepest}: {fmt(times['single'], 'ms')}",
                f"**{ratio:.2f}×**",
                f"CPU time {med(cpu['stack']) * 1e3:,.1f} vs {med(cpu['single']) * 1e3:,.1f} ms "
                f"(**{cpu_ratio:.2f}×**); {repeats} interleaved repeats, {torch.get_num_threads()} torch thread(s); "
                "explanations cached; one forward pass for all layers",
                "≤ 1.3× " + ("✅" if ratio <= 1.3 else "❌"),
            ]
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller builds (30k training tokens, k=128)")
    ap.add_argument("--rounds", type=int, default=1, help="build rounds (each builds both, interleaved)")
    ap.add_argument("--repeats", type=int, default=15, help="analyze repeats")
    ap.add_argument("--layers", default="3,6,9,12")
    ap.add_argument("--stack", default=None, help="a built stack: skip the build row, time analyze on it")
    ap.add_argument("--threads", type=int, default=0, help="torch threads in every process (0: torch's default)")
    ap.add_argument("--write", action="store_true", help="also rewrite the layer-stacks section of bench/README.md")
    ap.add_argument("--_child", default=None)
    ap.add_argument("--_root", default="")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    if a._child:
        child(a._child, a.layers, a._root, a.quick)
        return
    layers = parse_layers(a.layers)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="bench-layers-"))
    if a.stack:
        rows = rows_analyze(Path(a.stack), a.repeats)
    else:
        build, stack_path = row_build(layers, a.rounds, root, a.quick)
        rows = [build, *rows_analyze(stack_path, a.repeats)]
    machine = (
        f"Machine: {cpu_model()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}, no GPU; load average {load0:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end; {time.perf_counter() - t0:.0f} s in all; "
        f"peak RSS of the analyze process {peak_rss_mb():,.0f} MB"
    )
    table = [
        machine,
        "",
        "| row | stack (median ± half-range) | single layer, same run | ratio | notes | target |",
        "|---|---|---|---|---|---|",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]
    text = "\n".join(table)
    print("\n" + text)
    out = ROOT / "bench" / "out" / "layers.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    if a.write:
        write_section("layers-bench", readme_section(text, sys.argv[1:]))


def readme_section(table: str, argv: list[str]) -> str:
    args = " ".join(x for x in argv if x != "--write")
    return f"""## Layer stacks (`bench/layers.py`, issue 10)

```bash
.venv/bin/python bench/layers.py --quick --rounds 2 --threads 1 --write   # about 2-3 minutes; without --quick: k=256
```

A stack of layers 3, 6, 9 and 12 against the deepest layer alone, in the same run. Each build runs in a
fresh process (model load excluded, peak RSS reported); `analyze` is warm (explanations cached) and
interleaved. CPU time (all threads of the process) is printed beside wall time: on these shared 2-core
machines it is the steadier of the two. Latest run (`bench/layers.py {args}`):

{table}

The forward pass is shared (reading four layers costs about what reading the deepest one does, since
the forward stops there either way). What a stack adds is one k-means fit and one assignment per layer
at build time, and per layer at analysis time the nearest-centroid search, the rows and one lookup per
centroid the text uses (cached in memory by file stat, so an unchanged JSON file is not parsed again)."""


if __name__ == "__main__":
    main()
