"""Re-compute a workspace's fidelity on a text file with plain PyTorch forward hooks (no nnsight, no autointerp
patching code), and compare it with `python -m autointerp fidelity --json`.

    python scripts/check_fidelity.py --workspace W --text-file F [--cli-json OUT.json]

Same definitions as autointerp/fidelity: each non-empty line one document cut to 128 tokens, behind the sink
token; position 0 never patched; cosine reconstruction centre + ||x - centre|| * unit(nearest centroid).
Exits 1 when CE loss recovered or FVE differ by more than 0.05.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout, like bench/

TOL = 0.05


@dataclass
class Reference:
    ce_clean: float
    ce_ablated: float
    ce_patched: float
    fve: float
    tokens: int

    @property
    def ce_recovered(self) -> float:
        return (self.ce_ablated - self.ce_patched) / (self.ce_ablated - self.ce_clean)


def reconstruct(x: torch.Tensor, centroids: torch.Tensor, center: torch.Tensor | None, cosine: bool) -> torch.Tensor:
    """(n, d) -> what the codebook keeps of each row, written out from the definition."""
    x = x.float()
    if not cosine:
        return centroids[torch.cdist(x, centroids).argmin(1)]
    c = center if center is not None else torch.zeros(x.shape[1])
    units = centroids / centroids.norm(dim=1, keepdim=True)
    d = x - c
    nearest = ((d / d.norm(dim=1, keepdim=True)) @ units.T).argmax(1)
    return c + d.norm(dim=1, keepdim=True) * units[nearest]


def reference(hf_model, docs: list[list[int]], sink: int | None, layer: int, site_of, replace) -> Reference:
    """Three passes per document (clean, centre, codebook) through a forward hook on the layer's module."""
    module = site_of(hf_model, layer)
    state: dict = {"mode": "clean"}

    def hook(mod, args, output):
        h = output[0] if isinstance(output, tuple) else output
        state["x"] = h[0, 1:].detach().float().clone()
        if state["mode"] == "clean":
            return None
        new = h.clone()
        new[0, 1:] = replace(state["mode"], h[0, 1:]).to(h.dtype)
        return (new, *output[1:]) if isinstance(output, tuple) else new

    handle = module.register_forward_hook(hook)
    sums = {"clean": 0.0, "ablated": 0.0, "codebook": 0.0}
    n_ce, xs, errs = 0, [], 0.0
    try:
        for doc in docs:
            ids = torch.tensor([([sink] if sink is not None else []) + doc])
            if ids.shape[1] < 2:
                continue
            for mode in sums:
                state["mode"] = mode
                with torch.no_grad():
                    logits = hf_model(input_ids=ids).logits[0].float()
                lp = torch.log_softmax(logits[1:-1], -1)  # predictions made at patched positions with a next token
                sums[mode] += float(-lp.gather(1, ids[0, 2:, None]).sum())
                if mode == "clean":
                    x = state["x"]
                    xs.append(x)
                    errs += float(((x - replace("codebook", x).float()) ** 2).sum())
            n_ce += ids.shape[1] - 2
    finally:
        handle.remove()
    allx = torch.cat(xs).double()
    var = float(((allx - allx.mean(0)) ** 2).sum())
    return Reference(sums["clean"] / n_ce, sums["ablated"] / n_ce, sums["codebook"] / n_ce, 1 - errs / var, len(allx))


def check(workspace: str, text_file: str, cli: dict | None = None) -> tuple[Reference, dict]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from autointerp.core.models import resolve_model_path
    from autointerp.workspace import Workspace

    ws = Workspace.open(workspace)
    path = resolve_model_path(ws.config.model)
    tok = AutoTokenizer.from_pretrained(path)
    hf = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16 if ws.config.dtype == "auto" else "auto")
    hf.eval()
    with open(text_file, encoding="utf-8") as fh:
        lines = [x.strip() for x in fh if x.strip()]
    docs = [tok(x, add_special_tokens=False)["input_ids"][:128] for x in lines]
    cosine = ws.info.normalisation == "cosine"
    cents, center = ws.centroids.float(), ws.center.float() if ws.center is not None else None
    mean = center if center is not None else cents.mean(0)

    def replace(mode: str, h: torch.Tensor) -> torch.Tensor:
        return mean.expand_as(h) if mode == "ablated" else reconstruct(h, cents, center, cosine)

    def site_of(model, layer):
        block = model.model.layers[layer]
        return {"layer_output": block, "mlp_output": block.mlp, "attention_output": block.self_attn}[ws.config.site]

    ref = reference(hf, docs, ws.info.sink_token_id, ws.config.layer, site_of, replace)
    if cli is None:
        cmd = [sys.executable, "-m", "autointerp", "fidelity", "--workspace", workspace, "--text-file", text_file]
        cli = json.loads(subprocess.run([*cmd, "--json"], check=True, capture_output=True, text=True).stdout)
    return ref, cli


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workspace", required=True)
    p.add_argument("--text-file", required=True)
    p.add_argument("--cli-json", help="the CLI's output, already computed (default: run it)")
    a = p.parse_args()
    cli = json.loads(Path(a.cli_json).read_text()) if a.cli_json else None
    ref, cli = check(a.workspace, a.text_file, cli)
    print(f"reference (forward hooks): {ref} ce_recovered={ref.ce_recovered:.4f}")
    keys = ("ce_clean", "ce_ablated", "ce_patched", "ce_recovered", "fve", "tokens")
    print(f"autointerp fidelity      : {json.dumps({k: cli[k] for k in keys})}")
    print(f"random baseline          : {cli['baselines']['random']}")
    d_ce, d_fve = abs(ref.ce_recovered - cli["ce_recovered"]), abs(ref.fve - cli["fve"])
    ok = d_ce <= TOL and d_fve <= TOL
    print(f"|diff| CE recovered {d_ce:.4f}, FVE {d_fve:.4f}: {'agree' if ok else 'DISAGREE'} within {TOL}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
