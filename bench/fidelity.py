"""Fidelity across k and layers, in one run: CE loss recovered and FVE beside the random baseline, and what
the measurement costs against the build it is part of.

    .venv/bin/python bench/fidelity.py [--quick] [--ks 64,256,1024] [--layers 3,6,9,12] [--out DIR]

Rows: k = 64, 256 and 1024 at layer 12 (each its own build), then the layers of a 4-layer stack (one build
sharing the forward passes). Each build is timed without the fidelity step (build.json's total_s, the same
figure `python -m autointerp build` reports); the fidelity step is the record's own `seconds`, measured in the
same process right after. Target (issue 17): fidelity <= 15% of the default build (layer 12, k = 256).
`--quick` shrinks every token budget 8x: for a smoke run, not for the README. Writes bench/out/fidelity.md and
the README section `fidelity` (only without --quick).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autointerp.config import BuildConfig, RunOptions, parse_layers  # noqa: E402
from autointerp.core.models import load_model  # noqa: E402
from autointerp.fidelity.records import FidelityRecord  # noqa: E402
from autointerp.stack import build_stack  # noqa: E402
from autointerp.workspace import Workspace, build_workspace, workspace_path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line  # noqa: E402
from sections import write_section  # noqa: E402


def config(quick: bool) -> BuildConfig:
    base = BuildConfig()  # the default build, tags included: the 15% is of its time
    if not quick:
        return base
    return base.with_(train_tokens=8192, val_tokens=5000, heldout_tokens=3200, kmeans_iters=10)


def row(name: str, r: FidelityRecord, build_s: float) -> str:
    share = f"{100 * r.seconds / build_s:.0f}%" if build_s > 0 else "n/a"
    return (
        f"| {name} | {r.ce_recovered:.3f} | {r.random.ce_recovered:.3f} | {r.fve:.3f} | {r.random.fve:.3f} "
        f"| {r.ce_clean:.2f} / {r.ce_patched:.2f} / {r.ce_ablated:.2f} | {r.tokens:,} | {r.seconds:.1f} s "
        f"| {build_s:.1f} s ({share}) |"
    )


def run(a: argparse.Namespace) -> str:
    cfg = config(a.quick)
    root = Path(a.out or tempfile.mkdtemp(prefix="bench-fidelity-"))
    model = load_model(cfg.model, dtype=cfg.dtype)
    lines = [
        "| workspace | CE loss recovered | random | FVE | random | CE clean / patched / ablated | tokens "
        "| fidelity time | build time (fidelity share) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for k in a.ks:
        c = cfg.with_(layer=12, k=k)
        ws = Workspace.open(build_workspace(c, root, options=RunOptions(model=model, force=True)))
        assert ws.fidelity is not None
        lines.append(row(f"layer 12, k={k}", ws.fidelity, float(ws.build["total_s"])))
        print(lines[-1], flush=True)
    t = time.perf_counter()
    build_stack(cfg.with_(k=256), a.layers, root, options=RunOptions(model=model, force=True))
    stack_s = time.perf_counter() - t
    for layer in a.layers:
        ws = Workspace.open(workspace_path(cfg.with_(k=256, layer=layer), root))
        assert ws.fidelity is not None
        lines.append(
            row(f"stack {','.join(map(str, a.layers))}: layer {layer}, k=256", ws.fidelity, float(ws.build["total_s"]))
        )
        print(lines[-1], flush=True)
    head = (
        f"Machine: {machine_line()}; run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        f"{' (--quick)' if a.quick else ''}. Stack build with fidelity: {stack_s:.0f} s. Build times exclude the "
        "fidelity step and the model load; a stack's layers share one build time. Fidelity on the first 16 "
        "held-out windows (about 830 tokens), random = as many seeded random unit directions as centroids."
    )
    return head + "\n\n" + "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--ks", default="64,256,1024")
    p.add_argument("--layers", default="3,6,9,12")
    p.add_argument("--out", default=None, help="workspaces folder (default: a temporary one)")
    a = p.parse_args()
    a.ks = [int(x) for x in a.ks.split(",")]
    a.layers = parse_layers(a.layers)
    body = run(a)
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / "fidelity.md").write_text(body + "\n", encoding="utf-8")
    if not a.quick:
        write_section("fidelity", "## Fidelity (`bench/fidelity.py`, issue 17)\n\n" + body)
        write_section("fidelity-table", body, ROOT / "README.md")
    print(json.dumps({"written": str(out / "fidelity.md")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
