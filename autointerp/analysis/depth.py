"""Multi-layer analysis: one forward pass gives each token's centroid at every layer of a stack, and the
depth facts a meta-interpretation may state (what kind of label holds at each depth, where tokens that
share a cluster split apart or merge). Every fact is an assignment or a held-out-measured label; nothing
here guesses what a layer "does".
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from autointerp.analysis.sentence import SentenceAnalysis, SentenceAnalyzer, decode_tokens
from autointerp.constants import LOW_CONFIDENCE
from autointerp.core.activations import iter_layers
from autointerp.errors import InputError
from autointerp.explain.explanation_cache import CentroidExplanationCache
from autointerp.explain.features import Feature
from autointerp.explain.llm_choice import OFFLINE, ExplainPlan
from autointerp.explain.semantics import is_concept
from autointerp.records import CentroidExplanation
from autointerp.stack.folder import Stack


def layer_explanations(stack: Stack, layer: int, ids: list[int]) -> dict[int, CentroidExplanation]:
    """The cached explanations of these centroids at one layer of the stack; unexplained ones are left out."""
    cache = CentroidExplanationCache(stack.workspaces[layer].explanations_dir)
    found = {cid: cache.get(cid) for cid in ids}
    return {cid: e for cid, e in found.items() if e is not None}


@dataclass
class LayerCell:
    """One token at one layer. `confidence` is None when nothing measured the explanation."""

    layer: int
    centroid_id: int
    explanation: str
    confidence: float | None
    activation: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DepthRow:
    position: int
    token_str: str
    token_id: int
    by_layer: list[LayerCell]

    def to_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "token_str": self.token_str,
            "token_id": self.token_id,
            "by_layer": [c.to_dict() for c in self.by_layer],
        }


@dataclass(repr=False)
class DepthAnalysis:
    """A text analysed at every layer of a stack; `per_layer` holds each layer's full sentence analysis."""

    layers: list[int]
    per_layer: dict[int, SentenceAnalysis]
    notice: str = ""  # truncation, or layers missing from the stack

    def __repr__(self) -> str:  # short, like SentenceAnalysis's (asyncio.run reprs results)
        n = len(self.per_layer[self.layers[0]].rows) if self.layers else 0
        return f"DepthAnalysis(layers {self.layers}, {n} tokens)"

    @property
    def rows(self) -> list[DepthRow]:
        first = self.per_layer[self.layers[0]].rows
        out = []
        for i, r in enumerate(first):
            cells = []
            for layer in self.layers:
                lr = self.per_layer[layer].rows[i]
                conf = round(lr.confidence, 4) if lr.measured else None
                cells.append(LayerCell(layer, lr.centroid_id, lr.explanation, conf, round(lr.activation, 4)))
            out.append(DepthRow(r.position, r.token_str, r.token_id, cells))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"layers": list(self.layers), "rows": [r.to_dict() for r in self.rows]}


class DepthAnalyzer:
    """Sentence analysis at several layers of one model and site, from one early-stopped forward pass."""

    def __init__(self, model: Any, analyzers: dict[int, SentenceAnalyzer]):
        if not analyzers:
            raise InputError("no layers to analyse")
        sites = {(a.site.site, a.site.sink_id) for a in analyzers.values()}
        if len(sites) != 1:
            raise InputError(f"the layers were read at different sites or sink tokens: {sorted(map(str, sites))}")
        self.model = model
        self.analyzers = dict(sorted(analyzers.items()))

    @property
    def layers(self) -> list[int]:
        return list(self.analyzers)

    async def analyze(
        self,
        sentence: str,
        n_examples: int = 10,
        plan: ExplainPlan = OFFLINE,
        explain: bool = True,
        notice: str = "",
    ) -> DepthAnalysis:
        tokenizer_side = min(self.analyzers.values(), key=lambda a: a.max_tokens)
        ids, _, n = tokenizer_side.tokenize(sentence)
        site = tokenizer_side.site
        batch = next(iter_layers(self.model, [ids], self.layers, site.site, site.sink_id, len(ids) + 1))
        per_layer = {}
        strs = decode_tokens(self.model.tokenizer, ids)
        for layer, analyzer in self.analyzers.items():
            acts = batch.acts[layer]
            per_layer[layer] = await analyzer.from_activations(ids, acts, n, n_examples, plan, explain, strs, False)
        every = [e for a in per_layer.values() for e in a.explanations.values()]
        notes = [per_layer[self.layers[0]].notice, tokenizer_side.stand_in_note(every, plan), notice]
        return DepthAnalysis(self.layers, per_layer, " ".join(x for x in notes if x))


# ---- depth facts -------------------------------------------------------------------------------------

LABEL_KINDS = ("token identity", "word class", "concept", "context", "free text")
CONTEXT_KINDS = ("prev", "prevclass", "prevshape", "next", "position")
WORD_CLASS_KINDS = ("class", "pos", "shape", "suffix")


def label_kind(e: CentroidExplanation) -> str:
    """What kind of label an explanation is, read from the rule it was scored as (never from its wording).

    A WordNet concept or an entity type makes a concept, even beside a word class; a part of speech, closed
    word class, character class or suffix is a word class; a token list is token identity; a rule on
    neighbours or position alone is context; text not read as a rule (an LLM label scored by detection) is
    free text."""
    rule = e.info.rule
    if not rule:
        return "free text"
    if any(is_concept(f) for term in rule for f in term):  # WordNet or entity type, alone or with a word class
        return "concept"
    heads = {Feature(f).kind for term in rule for f in term if Feature(f).kind not in CONTEXT_KINDS}
    if heads & set(WORD_CLASS_KINDS):
        return "word class"
    if heads == {"tok"}:
        return "token identity"
    return "context" if not heads else "free text"


@dataclass
class KindShares:
    """At one layer: how many of the text's tokens carry each kind of confident, measured label."""

    layer: int
    counts: dict[str, int]
    counted: int  # tokens whose explanation is measured and at least LOW_CONFIDENCE
    total: int

    def share(self, kind: str) -> float:
        return self.counts.get(kind, 0) / self.counted if self.counted else 0.0


@dataclass
class Regroup:
    """Tokens that share a centroid on one side of a layer step and not on the other.

    A split: `centroid` holds them at `source`, and they go to several centroids at `target`.
    A merge: `centroid` holds them at `target`, and they come from several centroids at `source`."""

    kind: str  # "split" or "merge"
    source: int
    target: int
    centroid: int
    members: list[tuple[int, str, int]] = field(default_factory=list)  # position, token, centroid across


def kind_shares(analysis: DepthAnalysis) -> list[KindShares]:
    out = []
    for layer in analysis.layers:
        a = analysis.per_layer[layer]
        counts: Counter[str] = Counter()
        for r in a.rows:
            e = a.explanations.get(r.centroid_id)
            if e is not None and r.measured and r.confidence >= LOW_CONFIDENCE:
                counts[label_kind(e)] += 1
        out.append(KindShares(layer, dict(counts), sum(counts.values()), len(a.rows)))
    return out


def regroups(analysis: DepthAnalysis) -> list[Regroup]:
    """Every split and merge of the text's tokens between adjacent layers, in layer then position order."""
    out = []
    for src, dst in zip(analysis.layers, analysis.layers[1:], strict=False):
        a, b = analysis.per_layer[src].rows, analysis.per_layer[dst].rows
        for kind, here, there in (("split", a, b), ("merge", b, a)):
            groups: dict[int, list[int]] = defaultdict(list)
            for i, r in enumerate(here):
                groups[r.centroid_id].append(i)
            for cid, idx in groups.items():
                if len(idx) > 1 and len({there[i].centroid_id for i in idx}) > 1:
                    members = [(here[i].position, here[i].token_str, there[i].centroid_id) for i in idx]
                    out.append(Regroup(kind, src, dst, cid, members))
    out.sort(key=lambda g: (g.source, g.members[0][0], g.kind))
    return out


def _shares_lines(shares: list[KindShares]) -> list[str]:
    lines = []
    for s in shares:
        parts = [f"{k} {s.counts[k]} ({s.share(k):.0%})" for k in LABEL_KINDS if s.counts.get(k)]
        left = s.total - s.counted
        rest = f"; {left} of {s.total} tokens not counted (unmeasured or below {LOW_CONFIDENCE})" if left else ""
        lines.append(f"   - layer {s.layer}: {', '.join(parts) or 'no confident measured label'}{rest}")
    first, last = shares[0], shares[-1]
    if len(shares) > 1 and first.counted and last.counted:
        moved = [
            f"{k} {first.share(k):.0%} → {last.share(k):.0%}"
            for k in LABEL_KINDS
            if round(first.share(k), 2) != round(last.share(k), 2)
        ]
        if moved:
            lines.append(f"   From layer {first.layer} to layer {last.layer}: {'; '.join(moved)}.")
    return lines


def _tok(t: str) -> str:
    return repr(t.strip() or t)


def _regroup_line(g: Regroup, n: int = 6) -> str:
    """ "'fox', 'dog' share centroid 15, then split: c22 ('fox'), c31 ('dog')" and the merge mirror."""
    by_other: dict[int, list[str]] = defaultdict(list)
    for _, t, c in g.members:
        by_other[c].append(_tok(t))
    parts = [f"c{c} ({', '.join(toks[:n])}{', …' if len(toks) > n else ''})" for c, toks in by_other.items()]
    shared = ", ".join(_tok(t) for _, t, _ in g.members[:n]) + (", …" if len(g.members) > n else "")
    step = f"   - layer {g.source} → {g.target}:"
    if g.kind == "split":
        return f"{step} {shared} share centroid {g.centroid}, then split: {', '.join(parts)}"
    return f"{step} {', '.join(parts)} merge into centroid {g.centroid}"


def _capped(groups: list[Regroup], most: int) -> list[str]:
    lines = [_regroup_line(g) for g in groups[:most]]
    if len(groups) > most:
        lines.append(f"   - … and {len(groups) - most} more")
    return lines


def depth_text(analysis: DepthAnalysis, most: int = 10) -> str:
    """The depth section of a meta-interpretation: measured label kinds by layer, then splits and merges."""
    layers = ", ".join(map(str, analysis.layers))
    lines = [f"ACROSS LAYERS ({layers}; assignments and held-out-measured labels only):"]
    if analysis.notice:
        lines.append(f"   ({analysis.notice})")
    lines.append("Kinds of confident labels on this text's tokens, by layer (read from each label's scored rule):")
    lines += _shares_lines(kind_shares(analysis))
    groups = regroups(analysis)
    splits = [g for g in groups if g.kind == "split"]
    merges = [g for g in groups if g.kind == "merge"]
    lines.append("Tokens that share a centroid, then split apart:" if splits else "No shared centroid splits apart.")
    lines += _capped(splits, most)
    lines.append("Tokens from different centroids that merge:" if merges else "No different centroids merge.")
    lines += _capped(merges, most)
    return "\n".join(lines)
