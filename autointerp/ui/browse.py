"""Page data: the tables and per-centroid details the dashboard shows, computed from the core."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from autointerp.core.space import centroid_map
from autointerp.explain.explainers.contract import Rule
from autointerp.explain.explainers.parse import rule_text
from autointerp.fidelity import output_side as outside
from autointerp.fidelity.output_side import CentroidGeometry, OutputSide
from autointerp.fidelity.steer import SteerCache, SteerRequest, SteerResult
from autointerp.formatting import confidence_text, confidence_value, span_text
from autointerp.records import CentroidExplanation, SentenceRow, Status
from autointerp.tokens import token_label, token_texts, visible

if TYPE_CHECKING:
    from autointerp.interp import KMeansAutoInterp


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
    output: OutputSide | None = None  # stored at build time; None outside a workspace or in an older one


@dataclass
class CentroidSummary:
    """One row of the centroid browser's map and filters."""

    centroid_id: int
    explanation: str
    confidence: float | None  # None: unexplained or not measured
    population: int
    flags: str
    method: str
    status: str
    human_edited: bool
    x: float
    y: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _example(interp: KMeansAutoInterp, row: int) -> dict[str, Any]:
    view = interp.validation
    assert view is not None
    r = view.index.records
    ids, pos, radius = view.texts.window_ids(int(r.window[row])), int(r.pos[row]), 16
    lo, hi = max(0, pos - radius), min(len(ids), pos + radius + 1)
    # Decoded together, so a character split over byte pieces reads whole (token by token it was "��")
    left, right = interp.tokenizer.decode(ids[lo:pos]), interp.tokenizer.decode(ids[pos + 1 : hi])
    tok = token_texts(interp.tokenizer, ids[lo : pos + 1])[-1]
    return {
        "left": left,
        "token": tok,
        "right": right,
        "activation": view.activation(row),
        "distance": float(r.dist[row]),
    }


def _labelled(interp: KMeansAutoInterp, counts: Counter[int], n: int = 10) -> list[tuple[str, int]]:
    """The commonest tokens by id, each as the views show a token out of context (a byte piece as its bytes)."""
    return [(token_label(interp.tokenizer, t), c) for t, c in counts.most_common(n)]


def centroid_details(
    interp: KMeansAutoInterp, centroid_id: int, n_examples: int = 10, seed: int = 0
) -> CentroidDetails:
    cid = interp.space.check_id(centroid_id)
    view = interp.validation
    rows = view.index.members(cid) if view is not None else np.empty(0, dtype=np.int64)
    dists = np.asarray(view.index.records.dist)[rows] if view is not None else np.empty(0)
    outer = rows[len(rows) // 2 :]
    rng = np.random.default_rng(seed + cid)
    outer = np.sort(rng.choice(outer, size=min(n_examples, len(outer)), replace=False)) if len(outer) else outer
    tok_counts: Counter[int] = Counter()
    next_counts: Counter[int] = Counter()
    if view is not None:
        r, texts = view.index.records, view.texts
        for row in rows:
            ids = texts.window_ids(int(r.window[row]))
            p = int(r.pos[row])
            tok_counts[int(ids[p])] += 1
            if p + 1 < len(ids):
                next_counts[int(ids[p + 1])] += 1
    space = interp.space
    return CentroidDetails(
        centroid_id=cid,
        population=len(rows),
        distances=dists,
        top_examples=[_example(interp, int(x)) for x in rows[:n_examples]],
        outer_examples=[_example(interp, int(x)) for x in outer],
        top_tokens=_labelled(interp, tok_counts),
        next_tokens=_labelled(interp, next_counts),
        neighbours=[
            (int(i), float(v)) for i, v in zip(space.neighbour_ids[cid], space.neighbour_distances[cid], strict=True)
        ],
        logit_lens=logit_lens(interp, cid),
        output=interp.workspace.output_side(cid) if interp.workspace is not None else None,
    )


def geometry(interp: KMeansAutoInterp) -> CentroidGeometry:
    """The centroids placed back in the model's space, as the build placed them for the output side."""
    space = interp.space
    return CentroidGeometry.of(space.centroids, space.center, space.normalisation, interp.info.median_centered_norm)


def logit_lens(interp: KMeansAutoInterp, centroid_id: int, k: int = 10) -> list[tuple[str, float]]:
    """What the centroid direction predicts through the final norm and unembedding (fidelity/output_side.py)."""
    lens = outside.centroid_lens(
        interp.model, interp.tokenizer, geometry(interp), centroid_id, interp.activation_type, k
    )
    return [(t.token, t.value) for t in lens]


def token_change_bars(side: OutputSide) -> list[tuple[str, float]]:
    """TokenChange as (token, mean rise in percentage points) for a bar chart."""
    return [(t.token, round(100 * t.value, 3)) for t in side.token_change]


def steer_text(interp: KMeansAutoInterp, cache: SteerCache, request: SteerRequest) -> SteerResult:
    """The Steer box: greedy continuations with and without the centroid's direction (cached per request)."""
    sink = interp.info.sink_token_id
    return cache.get(interp.model, interp.layer_idx, interp.activation_type, geometry(interp), request, sink)


def status_label(e: CentroidExplanation | None, stale: bool = False) -> str:
    if e is None:
        return "unexplained"
    return "stale" if stale else str(e.status)


def explanation_table(interp: KMeansAutoInterp, explanations: dict[int, CentroidExplanation]) -> list[CentroidSummary]:
    """One row per centroid, explained or not, for browsing and filtering."""
    view = interp.validation
    counts = view.index.counts if view is not None else np.zeros(interp.num_centroids, int)
    xy = centroid_map(interp.space.centroids)
    rows = []
    for cid in range(interp.num_centroids):
        e = explanations.get(cid)
        rows.append(
            CentroidSummary(
                centroid_id=cid,
                explanation=e.explanation if e else "",
                confidence=float(e.confidence) if e and e.measured else None,
                population=int(counts[cid]),
                flags=", ".join(e.info.flags) if e else "",
                method=(e.info.explainer or "") if e else "",
                status=status_label(e, bool(e and interp.stale_reasons(e))),
                human_edited=bool(e and e.info.human_edited),
                x=float(xy[cid, 0]),
                y=float(xy[cid, 1]),
            )
        )
    return rows


def matches_search(row: CentroidSummary, query: str) -> bool:
    """The centroid browser's search: a number names a centroid id ("76" finds centroid 76, which a user reads on
    every chip and link), and any text is looked for in the explanation."""
    q = query.strip()
    if not q:
        return True
    return (q.isdigit() and int(q) == row.centroid_id) or q.lower() in row.explanation.lower()


def confidence_cell(confidence: float, status: Status | None) -> float | None:
    """A table cell: the measured confidence, or empty when nothing measured it."""
    return confidence_value(confidence) if status is not None and status.measured else None


def table_rows(rows: list[SentenceRow]) -> list[dict[str, Any]]:
    """The documented columns: Pos, Token, C-ID, Conf, Act, Explanation (plus who explained it)."""
    return [
        {
            "Pos": r.position,
            "Token": visible(r.token_str),  # a space token was a blank cell
            "C-ID": r.centroid_id,
            "Conf": confidence_cell(r.confidence, r.status),
            "Act": round(r.activation, 3),
            "Explanation": r.explanation,
            "Status": str(r.status) if r.status is not None else "unexplained",
            "Explainer": r.explainer,
        }
        for r in rows
    ]


def score_rows(e: CentroidExplanation) -> list[dict[str, Any]]:
    """The score breakdown of one explanation, and the rule its text was read as."""
    s = e.info.score
    if s is None:
        return []
    rule = rule_text(Rule.from_json(e.info.rule)) if e.info.rule else "—"
    return [
        {
            "read as rule": rule,  # first: what was measured, which a fixed-height table must not clip
            "method": s.method,
            "status": str(s.status),
            "balanced accuracy": s.balanced_accuracy,
            "95% CI": span_text(s.ci_low, s.ci_high),
            "TPR (members)": s.tpr,
            "TNR (nearest centroids)": s.tnr_hard,
            "TNR (random)": s.tnr_random,
            "members": s.n_pos,
            "hard negatives": s.n_hard,
            "random negatives": s.n_random,
            "detail": s.detail,
        }
    ]


def neighbour_rows(details: CentroidDetails, explanations: dict[int, CentroidExplanation]) -> list[dict[str, Any]]:
    return [
        {
            "centroid": c,
            "distance": round(dist, 3),
            "explanation": explanations[c].explanation if c in explanations else "—",
        }
        for c, dist in details.neighbours
    ]


CACHE_COLUMNS = [
    "centroid_id",
    "explanation",
    "confidence",
    "method",
    "status",
    "stale",
    "human_edited",
    "accepted",
    "timestamp",
]


def cache_rows(interp: KMeansAutoInterp, records: list[CentroidExplanation]) -> list[dict[str, Any]]:
    """The cache review grid: one row per cached explanation."""
    return [
        {
            "centroid_id": e.centroid_id,
            "explanation": e.explanation,
            "confidence": confidence_value(e.confidence) if e.measured else None,
            "method": e.info.explainer or "",
            "status": str(e.status),
            "stale": bool(interp.stale_reasons(e)),
            "human_edited": e.info.human_edited,
            "accepted": bool(e.info.accepted),
            "timestamp": e.timestamp[:16].replace("T", " "),  # to the minute: the grid has no room for more
        }
        for e in records
    ]


_FOLDER = re.compile(r"^(?P<model>.+)-L(?P<layer>\d+)-(?P<site>[a-z_]+)-k(?P<k>\d+)-(?P<fp>[0-9a-f]+)$")
_SITE_SHORT = {"layer_output": "residual", "mlp_output": "MLP", "attention_output": "attention"}


def workspace_labels(folders: list[str]) -> dict[str, str]:
    """Sidebar labels that fit its ~30 characters: layer, site and k always, the model only where the
    workspaces' models differ (the sidebar names it below), the fingerprint only where labels would collide."""
    parsed = {f: m for f in folders if (m := _FOLDER.match(f))}
    many_models = len({m["model"] for m in parsed.values()}) > 1
    labels = {f: f for f in folders}
    for f, m in parsed.items():
        site = _SITE_SHORT.get(m["site"], m["site"])
        labels[f] = f"L{m['layer']} {site} · k{m['k']}" + (f" · {m['model']}" if many_models else "")
    taken = Counter(labels.values())
    for f, m in parsed.items():
        if taken[labels[f]] > 1:
            labels[f] += f" · {m['fp'][:6]}"
    return labels


def score_breakdown(e: CentroidExplanation) -> list[dict[str, str]]:
    """The score breakdown as two columns (measure, value), so nothing is cut at any width."""
    rows = score_rows(e)
    if not rows:
        return []

    def fmt(v: Any) -> str:
        if v is None or v == "":
            return "—"
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    return [{"measure": k, "value": fmt(v)} for k, v in rows[0].items()]


def regenerate_message(old: CentroidExplanation | None, new: CentroidExplanation) -> tuple[bool, str]:
    """(changed, what to tell the user) after a regeneration: saying nothing when nothing changed looks broken."""
    conf = confidence_text(new.confidence) if new.measured else f"not measured ({new.status})"
    if old is None:
        return True, f"Centroid {new.centroid_id} explained: {new.explanation!r}, confidence {conf}."
    same_text = old.explanation == new.explanation
    same_score = old.status == new.status and (not new.measured or round(old.confidence, 4) == round(new.confidence, 4))
    if same_text and same_score:
        return False, (
            f"Regenerated centroid {new.centroid_id}: the same explanation and confidence ({conf}) as before. "
            f"The {new.info.explainer or 'current'} explainer gives the same answer for the same evidence; "
            "choose another explainer in the sidebar, or edit the explanation in Cache review."
        )
    before = confidence_text(old.confidence if old.measured else None)
    return (
        True,
        f"Regenerated centroid {new.centroid_id}: {old.explanation!r} ({before}) → {new.explanation!r} ({conf}).",
    )
