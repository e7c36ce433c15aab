"""Time every centroid's output side (logit lens, TokenChange, description) against its workspace's build.

    .venv/bin/python bench/output_side.py [WORKSPACE] [--contexts 32,16]

Prints the build's own record (`total_s` for the build, `output_side_s` for the output side written with
it), then re-times the output side on the same model, centroids and validation split for each number of
contexts, in wall-clock and process CPU seconds (CPU time is steadier on a shared machine)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autointerp.config import default_workspace_root  # noqa: E402
from autointerp.core.models import load_model  # noqa: E402
from autointerp.data.linguistic import load_tagger  # noqa: E402
from autointerp.fidelity.output_side import CentroidGeometry, sample_contexts  # noqa: E402
from autointerp.fidelity.outputs import OutputSideSettings, compute_output_sides  # noqa: E402
from autointerp.workspace import Workspace, list_workspaces  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("workspace", nargs="?")
    ap.add_argument("--contexts", default="32")
    args = ap.parse_args()
    path = Path(args.workspace) if args.workspace else list_workspaces(default_workspace_root())[-1]
    ws = Workspace.open(path)
    build, meta = ws.build, ws.metadata
    total, side = float(build["total_s"]), float(build.get("output_side_s", 0.0))
    print(f"{path.name}: k={ws.config.k}, layer {ws.config.layer}")
    print(f"build record: build {total:.1f} s, output side {side:.1f} s = {side / total:.1%} of the build")
    model = load_model(ws.config.model, dtype=ws.config.dtype)
    geo = CentroidGeometry.of(ws.centroids, ws.center, ws.config.normalisation, meta.get("median_centered_norm"))
    loaded = load_tagger()
    for n in (int(x) for x in args.contexts.split(",")):
        settings = OutputSideSettings(contexts=n, seed=ws.config.seed)
        ctx = sample_contexts(ws.splits["val"].windows, meta.get("sink_token_id"), n, settings.length, settings.seed)
        wall, cpu = time.perf_counter(), time.process_time()
        compute_output_sides(
            model, geo, ws.config.layer, ws.config.site, ctx, settings, tagger=loaded[0] if loaded else None
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"{n} contexts: {wall:.1f} s wall ({wall / total:.1%} of the build), {cpu:.1f} s CPU")


if __name__ == "__main__":
    main()
