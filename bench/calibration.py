"""Calibration on unseen text: does a centroid's confidence rank its explanation's truth on a corpus the build
never reads? (issue 18, item 3)

    .venv/bin/python bench/calibration.py [--workspace PATH] [--out workspaces] [--tokens 30000] [--json rows.json]

Builds (or reuses) the default workspace, then reads the Lee news corpus (`lee_background.cor`, 300 Australian
news stories shipped in gensim's test data; the build reads only the Wikipedia sample next to it). The news text
goes through the workspace's own model, layer and centroids, and through the same spaCy tags and WordNet concepts
as a build, so every news token has a nearest centroid and the features a rule reads.

For every centroid the offline explainer labels (from the workspace's validation split, as the build does), the
*hidden-text balanced accuracy* is computed here, plainly and without the product's scorer: on all news tokens,
TPR = share of the centroid's news members the rule matches; TNR = mean of (share of the nearest centroids'
news members it rejects) and (share of all other news tokens it rejects). Then, in the same run:
- Spearman(confidence, hidden BA) before the concept rules (today's explainer without them, on features
  without concepts, scored on the same held-out tokens) and now, with a paired bootstrap of the change;
- the same on small draws of 20 and 60 stories (the issue's check read 20 paragraphs);
- other ways to turn the held-out measurement into a confidence (lower bound, shrinking by the
  validation-to-held-out drop or by the number of alternatives), each against the same hidden BA;
- per label kind: validation, held-out and news BA, and held-out minus news (over-confidence).
Not a timed test: figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sys
import tempfile
from collections import defaultdict
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autointerp import KMeansAutoInterp  # noqa: E402
from autointerp.config import BuildConfig  # noqa: E402
from autointerp.core.activations import iter_activations  # noqa: E402
from autointerp.data.concepts import ConceptCoder, SplitConcepts  # noqa: E402
from autointerp.data.corpus import Document, TokenWindows, pad_windows  # noqa: E402
from autointerp.data.linguistic import load_tagger, tag_and_code_windows  # noqa: E402
from autointerp.data.wordnet import WordNet  # noqa: E402
from autointerp.explain.explainers.contract import ExplanationDraft, Rule, TokenEvidence  # noqa: E402
from autointerp.explain.explainers.offline import OfflineExplainer, concept_parts  # noqa: E402
from autointerp.explain.scorers.balanced_accuracy import ScoringSet  # noqa: E402
from autointerp.explain.scorers.exact import RuleScorer  # noqa: E402
from autointerp.explain.semantics import is_concept  # noqa: E402
from autointerp.explain.texts import TokenTexts  # noqa: E402
from autointerp.progress import TqdmProgress  # noqa: E402
from autointerp.records import ScoreResult  # noqa: E402
from autointerp.workspace import build_workspace  # noqa: E402
from bench.concepts import kind_of  # noqa: E402

LEE = "test/test_data/lee_background.cor"
MIN_MEMBERS = 10  # news members a centroid needs before its hidden BA means anything


def lee_documents() -> list[Document]:
    """One news story per line of gensim's lee_background.cor."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.origin:
        sys.exit("this check reads the Lee corpus inside the gensim wheel: pip install -r requirements-embedded.txt")
    path = Path(spec.origin).parent / LEE
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [Document(line.strip(), f"lee_background.cor:{n}") for n, line in enumerate(lines, 1) if line.strip()]


@dataclass
class NewsTokens:
    """The news corpus as the workspace sees it: nearest centroid and feature set of every token."""

    cluster: np.ndarray  # (n,) nearest centroid
    doc: np.ndarray  # (n,) which news story
    features: list[frozenset[str]]  # (n,) what rules read

    def __len__(self) -> int:
        return len(self.cluster)


def windows_of(docs: list[Document], tokenizer, width: int, budget: int) -> TokenWindows:
    out = TokenWindows()
    for i, d in enumerate(docs):
        ids = tokenizer(d.text, add_special_tokens=False)["input_ids"]
        for start in range(0, len(ids), width):
            chunk = ids[start : start + width]
            if len(chunk) < 4 or out.n_tokens >= budget:
                break
            out.windows.append(chunk)
            out.doc_ids.append(i)
            out.starts.append(start)
    return out


def news_tokens(interp: KMeansAutoInterp, budget: int) -> NewsTokens:
    """Assign every news token to its nearest centroid and give it the build's features."""
    docs = lee_documents()
    cfg = interp.workspace.config
    w = windows_of(docs, interp.tokenizer, cfg.window, budget)
    sink = interp.info.sink_token_id
    cluster, where = [], []
    for batch in iter_activations(interp.model, w.windows, cfg.layer, cfg.site, sink):
        cluster.append(interp.space.nearest(batch.acts).first.numpy())
        where += list(zip(batch.window_ids.tolist(), batch.positions.tolist(), strict=True))
    tagger = load_tagger()
    if tagger is None:
        sys.exit("spaCy's English pipeline is missing: pip install -r requirements-embedded.txt")
    coder = ConceptCoder(WordNet())
    tags, codes = tag_and_code_windows(tagger[0], docs, w, interp.tokenizer, word_codes=coder.doc_codes)
    assert codes is not None
    texts = TokenTexts(pad_windows(w.windows, cfg.window), interp.tokenizer, tags, SplitConcepts(coder.table(), codes))
    feats = [frozenset(texts.features(win, pos)) for win, pos in where]
    return NewsTokens(np.concatenate(cluster), np.array([w.doc_ids[win] for win, _ in where]), feats)


def rule_hits(rule: Rule, news: NewsTokens) -> np.ndarray:
    """Which news tokens the rule matches: a term is a set of features the token must all carry."""
    return np.array([any(term <= f for term in rule.terms) for f in news.features])


def hidden_ba(
    hit: np.ndarray, cid: int, news: NewsTokens, neighbours: list[int], keep: np.ndarray | None = None, least: int = 0
) -> tuple[float, int] | None:
    """(balanced accuracy on the news tokens in `keep`, members), computed here from scratch: TPR on the
    centroid's members, TNR as the mean over the nearest centroids' members and all other tokens."""
    keep = np.ones(len(news), dtype=bool) if keep is None else keep
    member = (news.cluster == cid) & keep
    if member.sum() < max(least, 1):
        return None
    hard = np.isin(news.cluster, neighbours) & keep
    rest = ~member & keep
    tpr = hit[member].mean()
    tnrs = [1 - hit[group].mean() for group in (hard, rest) if group.any()]
    return float((tpr + np.mean(tnrs)) / 2), int(member.sum())


def ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their mean rank."""
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x))
    r[order] = np.arange(1, len(x) + 1)
    for v in np.unique(x):
        tie = x == v
        r[tie] = r[tie].mean()
    return r


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = ranks(np.asarray(a, dtype=float)), ranks(np.asarray(b, dtype=float))
    return float(np.corrcoef(ra, rb)[0, 1])


def kind(rule: Rule) -> str:
    """The label kinds whose calibration differs: concept rules by shape, then bench/concepts.py's kinds."""
    parts = concept_parts(rule)
    if parts is None:
        return kind_of(rule)
    if len(parts.concepts) > 1:
        return f"concept disjunction ({len(parts.concepts)})"
    if parts.words:
        return "concept + words"
    return "concept in a word class" if parts.head else "single concept"


@dataclass
class Row:
    cid: int
    label: str
    kind: str
    alternatives: int  # OR-ed terms of the rule
    validation: float  # validation BA (what the rule search saw)
    heldout: float  # held-out BA, point estimate
    ci_low: float
    n_heldout: int
    confidence: float  # what the product records
    hidden: float  # balanced accuracy on the news text, computed here
    n_news: int


def strip(tokens: list[TokenEvidence]) -> list[TokenEvidence]:
    return [replace(t, features={f for f in t.features if not is_concept(f) or f.startswith("ent:")}) for t in tokens]


async def explain_base(
    interp: KMeansAutoInterp, base: OfflineExplainer, cid: int
) -> tuple[ExplanationDraft, ScoreResult]:
    """The explainer and features from before the concept rules, scored exactly on the same held-out tokens."""
    ev = interp.validation.sampler.evidence(cid, context=False)
    ev = replace(ev, bands=[strip(b) for b in ev.bands], contrast=strip(ev.contrast), background=strip(ev.background))
    d = await base.explain(ev)
    data = interp.heldout.sampler.scoring_set(cid, context=False)
    sets = ScoringSet(strip(data.positives), strip(data.hard_negatives), strip(data.random_negatives))
    return d, await RuleScorer().score(d, sets)


async def rows(interp: KMeansAutoInterp, news: NewsTokens, concepts: bool = True) -> list[Row]:
    """Explain every centroid as the build does (fresh cache), then measure each rule on the news tokens.
    `concepts=False`: the explainer and features from before the concept rules, scored the same way."""
    out, base = [], OfflineExplainer(concept_rules=False)
    for cid in range(interp.num_centroids):
        if concepts:
            e = await interp.explanations.generate(cid)
            s, rule_json, label, conf, val = e.info.score, e.info.rule, e.explanation, e.confidence, e.info.evidence
        else:
            d, s = await explain_base(interp, base, cid)
            rule_json, label, conf, val = d.rule.to_json() if d.rule else None, d.explanation, s.confidence, d.evidence
        if s is None or not s.ok or rule_json is None or s.balanced_accuracy is None:
            continue
        rule = Rule.from_json(rule_json)
        hit = rule_hits(rule, news)
        got = hidden_ba(hit, cid, news, interp.space.neighbour_ids[cid].tolist(), least=MIN_MEMBERS)
        if got is None:
            continue
        ci_low = s.ci_low if s.ci_low is not None else s.balanced_accuracy
        v = float(val.get("validation_balanced_accuracy", float("nan")))
        out.append(Row(cid, label, kind(rule), len(rule.terms), v, s.balanced_accuracy, ci_low, s.n_pos, conf, *got))
        HITS[(concepts, cid)] = hit
    return out


HITS: dict[tuple[bool, int], np.ndarray] = {}  # (concept rules?, centroid) -> news tokens its rule matches


def small_corpus(interp: KMeansAutoInterp, rs: list[Row], news: NewsTokens, stories: int, draws: int = 200) -> str:
    """Spearman(confidence, news BA) when the news text is only `stories` random stories, as in the issue's
    check (20 paragraphs): median and 5-95% range over draws. Centroids need 3 members in the draw."""
    rng = np.random.default_rng(0)
    docs = np.unique(news.doc)
    got = []
    for _ in range(draws):
        keep = np.isin(news.doc, rng.choice(docs, size=min(stories, len(docs)), replace=False))
        pairs = []
        for r in rs:
            h = hidden_ba(HITS[(True, r.cid)], r.cid, news, interp.space.neighbour_ids[r.cid].tolist(), keep, 3)
            if h is not None:
                pairs.append((r.confidence, h[0]))
        if len(pairs) >= 5:
            got.append(spearman([p[0] for p in pairs], [p[1] for p in pairs]))
    lo, mid, hi = np.nanpercentile(got, [5, 50, 95])
    return (
        f"{stories} stories ({int(keep.sum()):,} tokens in the last draw): median {mid:.2f}, 5-95% {lo:.2f} to {hi:.2f}"
    )


def clip(ba: float) -> float:
    return min(1.0, max(0.0, 2 * (ba - 0.5)))


# Ways to turn a rule's measurements into a confidence, compared in the same run (issue 18 asked to measure).
CANDIDATES = {
    "held-out point estimate (the product's mapping)": lambda r: clip(r.heldout),
    "lower 95% bound of held-out BA": lambda r: clip(r.ci_low),
    "point − validation→held-out drop": lambda r: clip(r.heldout - max(0.0, r.validation - r.heldout)),
    "lower bound − validation→held-out drop": lambda r: clip(r.ci_low - max(0.0, r.validation - r.heldout)),
    "point − 0.02 per extra alternative": lambda r: clip(r.heldout - 0.02 * (r.alternatives - 1)),
    "lower bound − 0.02 per extra alternative": lambda r: clip(r.ci_low - 0.02 * (r.alternatives - 1)),
}


def bootstrap(a: list[float], b: list[float], rounds: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% interval of Spearman over centroids resampled with replacement."""
    rng = np.random.default_rng(seed)
    x, y = np.asarray(a), np.asarray(b)
    got = []
    for _ in range(rounds):
        i = rng.integers(0, len(x), len(x))
        got.append(spearman(list(x[i]), list(y[i])))
    return float(np.nanpercentile(got, 2.5)), float(np.nanpercentile(got, 97.5))


def paired(base: list[Row], now: list[Row], rounds: int = 1000) -> tuple[float, float]:
    """95% interval of Spearman(now) - Spearman(before) over the same centroids resampled together."""
    rng = np.random.default_rng(0)
    a, b = {r.cid: r for r in base}, {r.cid: r for r in now}
    ids = sorted(set(a) & set(b))
    diffs = []
    for _ in range(rounds):
        pick = rng.choice(ids, len(ids))
        s_now = spearman([b[c].confidence for c in pick], [b[c].hidden for c in pick])
        diffs.append(s_now - spearman([a[c].confidence for c in pick], [a[c].hidden for c in pick]))
    lo, hi = np.nanpercentile(diffs, [2.5, 97.5])
    return float(lo), float(hi)


def candidates(rs: list[Row]) -> None:
    hidden = [r.hidden for r in rs]
    print("| confidence from | Spearman with news BA | 95% bootstrap interval |")
    print("|---|---|---|")
    rows = [*((n, [f(r) for r in rs]) for n, f in CANDIDATES.items()), ("what the product records now", None)]
    for name, conf in rows:
        conf = conf if conf is not None else [r.confidence for r in rs]
        lo, hi = bootstrap(conf, hidden)
        print(f"| {name} | {spearman(conf, hidden):.3f} | {lo:.2f}–{hi:.2f} |")


def by_kind(rs: list[Row]) -> None:
    groups: dict[str, list[Row]] = defaultdict(list)
    for r in rs:
        groups[r.kind].append(r)
    print("| label kind | centroids | validation BA | held-out BA | news BA | held-out − news (± s.e.) | confidence |")
    print("|---|---|---|---|---|---|---|")
    for k, g in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        v, h, n = (float(np.mean([getattr(r, a) for r in g])) for a in ("validation", "heldout", "hidden"))
        c = float(np.mean([r.confidence for r in g]))
        se = float(np.std([r.heldout - r.hidden for r in g]) / np.sqrt(len(g)))
        print(f"| {k} | {len(g)} | {v:.3f} | {h:.3f} | {n:.3f} | {h - n:+.3f} ± {se:.3f} | {c:.2f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workspace", help="a built workspace (default: build or reuse the default one)")
    p.add_argument("--out", default=None, help="workspaces folder for the default build")
    p.add_argument("--tokens", type=int, default=30_000, help="news tokens to read (the corpus holds ~70k)")
    p.add_argument("--json", help="also write every per-centroid row here")
    a = p.parse_args()
    path = Path(a.workspace) if a.workspace else build_workspace(BuildConfig(), a.out, progress=TqdmProgress())
    interp = KMeansAutoInterp.from_workspace(path, cache_dir=tempfile.mkdtemp(prefix="bench-calibration-"))
    news = news_tokens(interp, a.tokens)
    rs = asyncio.run(rows(interp, news))
    base = asyncio.run(rows(interp, news, concepts=False))
    hidden = [r.hidden for r in rs]
    if a.json:
        Path(a.json).write_text(json.dumps({"rows": [asdict(r) for r in rs], "base": [asdict(r) for r in base]}))
    print(f"# Calibration on unseen news text ({path.name})")
    print(f"{len(news):,} news tokens from gensim's lee_background.cor; {len(rs)} centroids with a scored rule")
    print(f"and at least {MIN_MEMBERS} news members; mean news BA {np.mean(hidden):.3f}.\n")
    now = spearman([r.confidence for r in rs], hidden)
    no_concepts = spearman([r.confidence for r in base], [r.hidden for r in base])
    lo, hi = paired(base, rs)
    print(f"Spearman(confidence, news BA): before the concept rules (same run, {len(base)} centroids, mean news BA")
    print(f"{np.mean([r.hidden for r in base]):.3f}) **{no_concepts:.3f}**; with them, as the product records it now,")
    print(f"**{now:.3f}** (paired bootstrap of the change over centroids, 95%: {lo:+.3f} to {hi:+.3f}).")
    for n in (20, 60):
        print(f"- on {small_corpus(interp, rs, news, n)}")
    print()
    candidates(rs)
    print()
    by_kind(rs)


if __name__ == "__main__":
    main()
