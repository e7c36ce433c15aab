"""Per-centroid details for browsing: population, distance profile, tokens, logit lens, neighbours."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .records import CentroidExplanation


@dataclass
class CentroidDetails:
    centroid_id: int
    population: int
    distances: np.ndarray  # every validation member's distance, nearest first
    top_examples: list[dict[str, Any]]  # nearest members: left, token, right, activation
    outer_examples: list[dict[str, Any]]  # sampled from the outer half of the cluster
    top_tokens: list[tuple[str, int]]
    next_tokens: list[tuple[str, int]]
    neighbours: list[tuple[int, float]]  # (centroid id, centroid distance)
    logit_lens: list[tuple[str, float]] = field(default_factory=list)


def _example(interp: Any, row: int) -> dict[str, Any]:
    r = interp.val_index.records
    w, p = int(r.window[row]), int(r.pos[row])
    left, tok, right = interp.val_texts.context(w, p, radius=16)
    return {
        "left": left,
        "token": tok,
        "right": right,
        "activation": float(interp.activation(np.float32(r.dist[row]))),
        "distance": float(r.dist[row]),
    }


def centroid_details(interp: Any, centroid_id: int, n_examples: int = 10, seed: int = 0) -> CentroidDetails:
    cid = interp._check_id(centroid_id)
    idx, texts = interp.val_index, interp.val_texts
    rows = idx.members(cid) if idx is not None else np.empty(0, dtype=np.int64)
    r = idx.records if idx is not None else None
    dists = np.asarray(r.dist)[rows] if r is not None else np.empty(0)
    outer = rows[len(rows) // 2 :]
    rng = np.random.default_rng(seed + cid)
    outer = np.sort(rng.choice(outer, size=min(n_examples, len(outer)), replace=False)) if len(outer) else outer
    tok_counts: Counter[str] = Counter()
    next_counts: Counter[str] = Counter()
    for row in rows:
        ids = texts.window_ids(int(r.window[row]))
        p = int(r.pos[row])
        tok_counts[texts.token_str(ids[p])] += 1
        if p + 1 < len(ids):
            next_counts[texts.token_str(ids[p + 1])] += 1
    return CentroidDetails(
        centroid_id=cid,
        population=len(rows),
        distances=dists,
        top_examples=[_example(interp, int(x)) for x in rows[:n_examples]],
        outer_examples=[_example(interp, int(x)) for x in outer],
        top_tokens=tok_counts.most_common(10),
        next_tokens=next_counts.most_common(10),
        neighbours=[
            (int(i), float(v)) for i, v in zip(interp.neighbour_ids[cid], interp.neighbour_distances[cid], strict=True)
        ],
        logit_lens=logit_lens(interp, cid),
    )


def centroid_in_model_space(interp: Any, centroid_id: int) -> torch.Tensor:
    """Undo the normalisation: centre + direction scaled to the typical centred norm."""
    c = interp.centroids[centroid_id]
    if interp.normalisation != "cosine":
        return c
    center = interp.center if interp.center is not None else torch.zeros_like(c)
    scale = float(interp.metadata.get("median_centered_norm") or center.norm() or 1.0)
    return center + c * scale


def logit_lens(interp: Any, centroid_id: int, k: int = 10) -> list[tuple[str, float]]:
    """What the centroid direction predicts through the final norm and unembedding. Layer-output only:
    MLP and attention outputs are deltas, not residual states, so the lens would mislead there."""
    model = interp.model
    if interp.activation_type != "layer_output" or not hasattr(model, "lm_head"):
        return []
    try:
        norm, head = model.ln_final._module, model.lm_head._module
        v = centroid_in_model_space(interp, centroid_id)
        w = next(head.parameters())
        with torch.no_grad():
            logits = head(norm(v.to(w.device, w.dtype))).float()
        probs = torch.softmax(logits, -1)
        top = torch.topk(probs, k)
        return [(interp.tokenizer.decode([int(i)]), float(p)) for p, i in zip(top.values, top.indices, strict=True)]
    except (AttributeError, RuntimeError, StopIteration):
        return []


def centroid_map(centroids: torch.Tensor) -> np.ndarray:
    """2-D PCA coordinates of the centroids (deterministic sign)."""
    x = centroids.float() - centroids.float().mean(0)
    if x.shape[0] < 2:
        return np.zeros((x.shape[0], 2))
    _, _, v = torch.linalg.svd(x, full_matrices=False)
    xy = (x @ v[:2].T).numpy()
    signs = np.sign(xy[np.abs(xy).argmax(0), range(xy.shape[1])])
    return xy * np.where(signs == 0, 1, signs)


def explanation_table(interp: Any, explanations: dict[int, CentroidExplanation]) -> list[dict[str, Any]]:
    """One row per centroid, explained or not, for browsing and filtering."""
    counts = interp.val_index.counts if interp.val_index is not None else np.zeros(interp.num_centroids, int)
    xy = centroid_map(interp.centroids)
    rows = []
    for cid in range(interp.num_centroids):
        e = explanations.get(cid)
        stale = bool(interp.stale_reasons(e)) if e else False
        rows.append(
            {
                "centroid_id": cid,
                "explanation": e.explanation if e else "",
                "confidence": float(e.confidence) if e else None,
                "population": int(counts[cid]),
                "flags": ", ".join(e.metadata.get("flags", [])) if e else "",
                "method": e.metadata.get("explainer", "") if e else "",
                "status": ("stale" if stale else e.metadata.get("status", "")) if e else "unexplained",
                "human_edited": bool(e.metadata.get("human_edited")) if e else False,
                "x": float(xy[cid, 0]),
                "y": float(xy[cid, 1]),
            }
        )
    return rows
