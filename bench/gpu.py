"""The nearest-centroid search on a GPU: exact labels and the speed of the bf16 search against the float32
one, in the same run.

    python bench/gpu.py            # on a machine with CUDA; prints a Markdown section
    python bench/gpu.py --quick    # smaller sizes (a minute on a CPU, to check the script itself)

On a GPU the search is the torch path (no compiled CPU loops): a bf16 matmul with cuBLAS's reduced-precision
bf16 reductions turned off (the error bound assumes float32 accumulation), the proven bound, and a float32
re-check of the doubtful rows' candidates. What this checks there:

- labels against a float64 argmin (ties to the lower column) on adversarial near-ties (exact and near
  duplicate centroids, points on bisectors), tiny and large, for the nearest and the two nearest;
- a 200k x 1024 assignment and a k=1024 fit on clustered unit vectors (d = 576, as the embedded model's
  activations): time of the bf16 search against the float32 one, the re-checked share and the labels.

Data is synthetic: the machines these run on hold no model or corpus.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autointerp.build.kmeans import fit_kmeans  # noqa: E402
from autointerp.core.search import search  # noqa: E402
from tests.core.test_search import f64_top, near_ties  # noqa: E402  (the tests' adversarial data and reference)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn: Callable[[], object], device: torch.device, reps: int) -> list[float]:
    fn()  # warm-up: kernels, the table cache, allocator
    out = []
    for _ in range(reps):
        sync(device)
        t = time.perf_counter()
        fn()
        sync(device)
        out.append(time.perf_counter() - t)
    return out


def clustered(n: int, d: int, centres: int, seed: int, device: torch.device) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(centres, d, generator=g)
    x = base[torch.randint(0, centres, (n,), generator=g)] + 0.8 * torch.randn(n, d, generator=g)
    return torch.nn.functional.normalize(x, dim=1).to(device)


def exactness(device: torch.device, quick: bool) -> list[str]:
    rows = []
    cases = [(300, 16, 40), (8000, 128, 256) if quick else (40_000, 256, 512)]
    for n, d, k in cases:
        x, c = (t.to(device) for t in near_ties(n, d, k, seed=n))
        ref, ref_d2 = f64_top(x, c, 3)
        for m in (1, 2):
            idx, _, rechecked = search(x, c, m, chunk=1024, precision="bf16")
            f32, _, _ = search(x, c, m, chunk=1024, precision="f32")
            ok = ((ref_d2[:, 1:] - ref_d2[:, :-1]) > 1e-5)[:, :m].all(1)
            same = (idx[ok] == ref[ok, :m]).all(1).double().mean().item()
            same32 = (f32[ok] == ref[ok, :m]).all(1).double().mean().item()
            rows.append(
                f"| near ties {n:,}×{d}, k={k}, m={m} | {same:.4%} | {same32:.4%} | {int(ok.sum()):,} of {n:,} "
                f"| {rechecked.rows / n:.1%} |"
            )
    return rows


def speed(device: torch.device, quick: bool) -> list[str]:
    n, k, d = (50_000, 256, 576) if quick else (200_000, 1024, 576)
    x = clustered(n, d, 64, 0, device)
    c = x[torch.randperm(n, generator=torch.Generator().manual_seed(1))[:k].to(device)].clone()
    reps = 3 if quick else 5
    t_bf, t_32 = (timed(lambda p=p: search(x, c, 1, precision=p), device, reps) for p in ("bf16", "f32"))
    idx, _, rechecked = search(x, c, 1, precision="bf16")
    idx32, _, _ = search(x, c, 1, precision="f32")
    sub = torch.arange(0, n, 10, device=device)
    ref, _ = f64_top(x[sub], c, 1)
    flops = 2 * n * k * d
    rows = [
        f"| assignment {n // 1000}k × {k}, d={d} | {statistics.median(t_bf) * 1e3:,.1f} ms "
        f"({flops / statistics.median(t_bf) / 1e12:.1f} TFLOP/s) | {statistics.median(t_32) * 1e3:,.1f} ms "
        f"| **{statistics.median(t_32) / statistics.median(t_bf):.2f}×** | re-checked {rechecked.rows / n:.1%}; "
        f"labels = float64 argmin on {(idx[sub, 0] == ref[:, 0]).double().mean().item():.3%} (float32 search: "
        f"{(idx32[sub, 0] == ref[:, 0]).double().mean().item():.3%}) |"
    ]
    kf, iters = (256, 5) if quick else (1024, 20)
    init = x[:kf].clone()
    fits = {}
    for p in ("bf16", "f32"):
        ts = timed(lambda p=p: fits.__setitem__(p, fit_kmeans(x, kf, iters=iters, init=init, tol=0.0, precision=p)),
                   device, 2 if quick else 3)  # fmt: skip
        fits[p + "_t"] = statistics.median(ts)
    gap = (fits["bf16"].inertia - fits["f32"].inertia) / fits["f32"].inertia
    rows.append(
        f"| k-means fit {n // 1000}k × {d}, k={kf}, {iters} iters | {fits['bf16_t']:.2f} s | {fits['f32_t']:.2f} s "
        f"| **{fits['f32_t'] / fits['bf16_t']:.2f}×** | inertia bf16 vs float32 {gap:+.4%}; labels equal on "
        f"{(fits['bf16'].labels == fits['f32'].labels).double().mean().item():.3%} |"
    )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name() if device.type == "cuda" else "CPU (no GPU: a check of the script only)"
    print(f"## GPU: {name}; torch {torch.__version__}\n")
    print("| adversarial case | bf16 labels = float64 argmin | float32 search's | rows float64 separates "
          "| re-checked |")  # fmt: skip
    print("|---|---|---|---|---|")
    print("\n".join(exactness(device, args.quick)))
    print("\n| row | bf16 search | float32 search | speed-up | notes |\n|---|---|---|---|---|")
    print("\n".join(speed(device, args.quick)))


if __name__ == "__main__":
    main()
