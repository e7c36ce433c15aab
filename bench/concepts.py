"""Semantic concepts: what they do to labels and held-out scores on the default workspace (issue 9 targets).

    .venv/bin/python bench/concepts.py [--workspace PATH] [--out workspaces]

Builds (or reuses) the default workspace (layer 12, k=256), then explains every centroid offline twice in the
same run: with today's rule kinds on today's features (the baseline), and with the concept rules added.
Both are scored exactly on the same held-out tokens. Prints:
- the share of content-word centroids (>= 60% NOUN/VERB/ADJ/ADV/PROPN validation members) that keep a bare
  word-class or token-list label;
- mean held-out balanced accuracy over all centroids, and over the centroids whose label changed, with the
  number that dropped below their baseline's 95% CI;
- the edits "Animals and other living things" and a nonsense edit on the fox/dog centroid;
- costs: concept time against the whole build (same build), and the dashboard process's memory with and
  without the concept files (peak RSS of two fresh processes), plus the bytes the concept data holds.
Not a timed test: figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autointerp import KMeansAutoInterp  # noqa: E402
from autointerp.config import BuildConfig  # noqa: E402
from autointerp.data.linguistic import POS_TAGS  # noqa: E402
from autointerp.explain.explainers.contract import Rule, TokenEvidence  # noqa: E402
from autointerp.explain.explainers.offline import CONCEPT_MARGIN, OfflineExplainer, concept_parts  # noqa: E402
from autointerp.explain.explainers.parse import rule_text  # noqa: E402
from autointerp.explain.scorers.balanced_accuracy import ScoringSet  # noqa: E402
from autointerp.explain.scorers.exact import RuleScorer  # noqa: E402
from autointerp.progress import TqdmProgress  # noqa: E402
from autointerp.workspace import Layout, build_workspace  # noqa: E402

CONTENT = {"NOUN", "VERB", "ADJ", "ADV", "PROPN"}
BARE = ("pos:", "shape:", "suffix:")
CONTEXT = ("prev:", "prevclass:", "prevshape:", "next:", "position:")
NEW_KINDS = ("lex:", "syn:", "attr:")
EDIT = "Animals and other living things"
NONSENSE = "Musical instruments and kitchen furniture"
UNREADABLE = "Something vague about the vibe of the text"


def kind_of(rule: Rule) -> str:
    """bare word class | token list | single word | concept | other (function-word classes, context...)."""
    if concept_parts(rule) is not None:
        return "concept"
    feats = [f for t in rule.terms for f in t]
    if len(rule.terms) > 1 and all(len(t) == 1 and next(iter(t)).startswith("tok:") for t in rule.terms):
        return "token list"
    heads = [f for f in feats if not f.startswith(CONTEXT)]
    if heads and all(f.startswith(BARE) for f in heads):
        return "bare word class"
    if len(heads) == 1 and heads[0].startswith("tok:"):
        return "single word"
    if any(f.startswith("ent:") for f in heads):
        return "entity type"
    return "other"


def detail_of(rule: Rule) -> str:
    """A finer kind for the word-class labels: part of speech, capitalisation, word piece, suffix."""
    kind = kind_of(rule)
    if kind != "bare word class":
        return kind
    head = next(f for t in rule.terms for f in t if not f.startswith(CONTEXT))
    return {"pos": "part of speech", "suffix": "suffix"}.get(head.split(":")[0], head.replace("shape:", "shape "))


def strip(tokens: list[TokenEvidence]) -> list[TokenEvidence]:
    return [replace(t, features={f for f in t.features if not f.startswith(NEW_KINDS)}) for t in tokens]


def content_share(interp: KMeansAutoInterp, cid: int) -> float:
    tags = interp.validation.texts.tags
    rows = interp.validation.index.members(cid)
    if tags is None or not len(rows):
        return 0.0
    r = interp.validation.index.records
    pos = tags[0, np.asarray(r.window)[rows], np.asarray(r.pos)[rows]]
    return float(np.mean([POS_TAGS[p] in CONTENT for p in pos]))


async def compare(interp: KMeansAutoInterp, margin: float = CONCEPT_MARGIN) -> list[dict]:
    base, new, scorer = OfflineExplainer(concept_rules=False), OfflineExplainer(concept_margin=margin), RuleScorer()
    out = []
    for cid in range(interp.num_centroids):
        ev = interp.validation.sampler.evidence(cid)
        data = interp.heldout.sampler.scoring_set(cid)
        if not ev.members:
            continue
        ev_base = replace(
            ev, bands=[strip(b) for b in ev.bands], contrast=strip(ev.contrast), background=strip(ev.background)
        )
        data_base = ScoringSet(strip(data.positives), strip(data.hard_negatives), strip(data.random_negatives))
        row = {"centroid_id": cid, "content_share": content_share(interp, cid)}
        for name, explainer, e, d in (("base", base, ev_base, data_base), ("new", new, ev, data)):
            draft = await explainer.explain(e)
            s = await scorer.score(draft, d)
            row[name] = {
                "label": draft.explanation,
                "rule": draft.rule.to_json(),
                "kind": kind_of(draft.rule),
                "detail": detail_of(draft.rule),
                "ba": s.balanced_accuracy,
                "ci": (s.ci_low, s.ci_high),
                "val": draft.evidence["validation_balanced_accuracy"],
            }
        out.append(row)
    return out


def report(rows: list[dict]) -> dict:
    scored = [r for r in rows if r["base"]["ba"] is not None and r["new"]["ba"] is not None]
    mean = {k: float(np.mean([r[k]["ba"] for r in scored])) for k in ("base", "new")}
    changed = [r for r in scored if r["base"]["rule"] != r["new"]["rule"]]
    deltas = [r["new"]["ba"] - r["base"]["ba"] for r in changed]
    below_ci = [r for r in changed if r["new"]["ba"] < r["base"]["ci"][0]]
    above_ci = [r for r in changed if r["new"]["ba"] > r["base"]["ci"][1]]
    content = [r for r in rows if r["content_share"] >= 0.6]
    plain = {k: sum(r[k]["kind"] in ("bare word class", "token list") for r in content) for k in ("base", "new")}
    kinds = {k: Counter(r[k]["detail"] for r in content) for k in ("base", "new")}
    return {
        "centroids": len(rows),
        "scored": len(scored),
        "mean_ba": mean,
        "changed": len(changed),
        "changed_mean_base": float(np.mean([r["base"]["ba"] for r in changed])) if changed else None,
        "changed_mean_new": float(np.mean([r["new"]["ba"] for r in changed])) if changed else None,
        "changed_mean_delta": float(np.mean(deltas)) if deltas else 0.0,
        "changed_better": sum(d > 0 for d in deltas),
        "changed_worse": sum(d < 0 for d in deltas),
        "dropped_below_ci": [(r["centroid_id"], r["base"]["ba"], r["new"]["ba"]) for r in below_ci],
        "rose_above_ci": len(above_ci),
        "content_centroids": len(content),
        "content_plain_share": {k: plain[k] / max(1, len(content)) for k in plain},
        "content_kinds": {k: dict(v) for k, v in kinds.items()},
    }


async def edits(interp: KMeansAutoInterp) -> dict:
    analysis = await interp.analyze("The quick brown fox jumps over the lazy dog.", explain=False)
    by_tok = {r.token_str.strip(): r.centroid_id for r in analysis.rows}
    cid = by_tok["fox"]
    out = {"centroid_id": cid, "dog_centroid": by_tok["dog"]}
    before = await interp.get_or_generate_explanation(cid)
    out["offline_label"] = (before.explanation, before.metadata["score"]["balanced_accuracy"])
    for name, text in (("edit", EDIT), ("nonsense", NONSENSE), ("unreadable", UNREADABLE)):
        e = await interp.edit_explanation(cid, text)
        s = e.info.score
        out[name] = {
            "text": text,
            "status": str(e.status),
            "confidence": e.confidence if e.measured else None,
            "ba": s.balanced_accuracy if s else None,
            "ci": (s.ci_low, s.ci_high) if s else (None, None),
            "read_as": rule_text(Rule.from_json(e.info.rule)) if e.info.rule else None,
        }
    return out


def memory_child(path: str) -> None:
    """One dashboard-like process: load the workspace and model, analyse a sentence, explain its centroids."""
    interp = KMeansAutoInterp.from_workspace(path, cache_dir=tempfile.mkdtemp())
    asyncio.run(interp.analyze("In 1969, Neil Armstrong became the first person to walk on the Moon."))
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            print(json.dumps({"peak_mb": int(line.split()[1]) / 1024}))


def without_concepts(path: Path) -> Path:
    """A copy of the workspace without its concept files: the same workspace as a build without WordNet."""
    copy = Path(tempfile.mkdtemp(prefix="bench-no-concepts-")) / path.name
    shutil.copytree(path, copy, ignore=shutil.ignore_patterns("explanations"))
    where = Layout(copy)
    for f in (where.concept_names, where.concept_sets, where.concept_codes("val"), where.concept_codes("heldout")):
        f.unlink()
    return copy


def memory(path: Path, rounds: int = 3) -> dict:
    plain = without_concepts(path)
    peaks: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(rounds):
        for name, where in (("without", plain), ("with", path)):
            cmd = [sys.executable, __file__, "--memory-child", str(where)]
            res = subprocess.run(cmd, capture_output=True, text=True, check=True)
            peaks[name].append(json.loads(res.stdout.strip().splitlines()[-1])["peak_mb"])
    shutil.rmtree(plain.parent, ignore_errors=True)
    from autointerp.workspace import Workspace

    split = Workspace.open(path).splits
    held = 0
    if split["val"].concepts is not None:
        table = split["val"].concepts.table
        held = sum(s.concepts.codes.nbytes for s in split.values() if s.concepts is not None)
        held += table.set_offsets.nbytes + table.set_ids.nbytes
        held += sum(len(f) + sum(len(x) for x in ls) for f, ls in zip(table.features, table.lemmas, strict=True))
    return {
        "peak_rss_mb": {k: float(np.median(v)) for k, v in peaks.items()},
        "peak_rss_spread_mb": {k: (max(v) - min(v)) / 2 for k, v in peaks.items()},
        "concept_data_mb": held / 2**20,
    }


def sweep(interp: KMeansAutoInterp, margins: list[float]) -> None:
    """What the content-word target would cost: the same comparison with concept rules favoured more
    (a negative margin prefers a concept rule that is that much worse on validation)."""
    print(
        "| concept margin | bare labels, content-word centroids | mean held-out BA | changed labels "
        "| mean change | below the baseline's CI |"
    )
    print("|---|---|---|---|---|---|")
    for m in margins:
        rep = report(asyncio.run(compare(interp, m)))
        print(
            f"| {m:+.3f}{' (default)' if m == CONCEPT_MARGIN else ''} | {rep['content_plain_share']['new']:.0%} "
            f"of {rep['content_centroids']} | {rep['mean_ba']['new']:.3f} | {rep['changed']} "
            f"| {rep['changed_mean_delta']:+.3f} | {len(rep['dropped_below_ci'])} |"
        )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--workspace", help="a built workspace (default: build or reuse the default one)")
    p.add_argument("--out", default=None, help="workspaces folder for the default build")
    p.add_argument("--json", help="also write every per-centroid row here")
    p.add_argument("--memory-child", help=argparse.SUPPRESS)
    p.add_argument("--no-memory", action="store_true", help="skip the two-process memory measurement")
    p.add_argument("--sweep", help="only sweep the concept margin over these values, e.g. 0.01,0,-0.02,-0.03")
    a = p.parse_args()
    if a.memory_child:
        memory_child(a.memory_child)
        return
    path = Path(a.workspace) if a.workspace else build_workspace(BuildConfig(), a.out, progress=TqdmProgress())
    interp = KMeansAutoInterp.from_workspace(path, cache_dir=tempfile.mkdtemp(prefix="bench-concepts-"))
    if interp.validation is None or interp.validation.texts.concepts is None:
        sys.exit(f"{path} has no concept features ({interp.info.concepts}); install WordNet and rebuild")
    if a.sweep:
        sweep(interp, [float(x) for x in a.sweep.split(",")])
        return
    rows = asyncio.run(compare(interp))
    rep = report(rows)
    ed = asyncio.run(edits(interp))
    build = interp.workspace.build
    concept_s = build["times"].get("concepts_s", 0.0)
    mem = None if a.no_memory else memory(path)
    if a.json:
        Path(a.json).write_text(json.dumps({"rows": rows, "report": rep, "edits": ed, "memory": mem}, indent=1))

    print(f"# Semantic concepts on {path.name}")
    print(f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), {platform.python_version()}")
    print(f"concepts: {interp.info.concepts}")
    print()
    print("| figure | today (baseline, same run) | with concepts | target |")
    print("|---|---|---|---|")
    sh = rep["content_plain_share"]
    n = rep["content_centroids"]
    print(
        f"| content-word centroids with a bare word-class or token-list label | {sh['base']:.0%} of {n} "
        f"| **{sh['new']:.0%}** of {n} | ≤ 40% |"
    )
    print(
        f"| mean held-out BA, all {rep['scored']} scored centroids | {rep['mean_ba']['base']:.3f} "
        f"| **{rep['mean_ba']['new']:.3f}** | ≥ 0.83 |"
    )
    if rep["changed"]:
        print(
            f"| centroids whose label changed: {rep['changed']} ({rep['changed_better']} better, "
            f"{rep['changed_worse']} worse) | {rep['changed_mean_base']:.3f} | **{rep['changed_mean_new']:.3f}** "
            f"(mean change {rep['changed_mean_delta']:+.3f}) | lose nothing on average |"
        )
    print(
        f"| changed labels whose BA fell below the baseline's 95% CI | — | **{len(rep['dropped_below_ci'])}** "
        f"({rep['rose_above_ci']} rose above it) | none |"
    )
    for name in ("edit", "nonsense", "unreadable"):
        e = ed[name]
        shown = (
            f"confidence {e['confidence']:.2f}, BA {e['ba']:.3f} (95% CI {e['ci'][0]:.3f}–{e['ci'][1]:.3f}), "
            f"read as {e['read_as']}"
            if e["status"] == "scored"
            else f"{e['status']} (not measured)"
        )
        target = {"edit": "confidence > 0", "nonsense": "near chance (BA ≈ 0.5)", "unreadable": "not measured"}[name]
        print(
            f"| centroid {ed['centroid_id']} (fox; dog: {ed['dog_centroid']}) edit {e['text']!r} "
            f"| — | {shown} | {target} |"
        )
    print(
        f"| build time spent on concepts | — | {concept_s:.2f} s of {build['total_s']:.1f} s "
        f"(+{concept_s / max(1e-9, build['total_s'] - concept_s):.1%}) | < +20% |"
    )
    if mem:
        pr, spread = mem["peak_rss_mb"], mem["peak_rss_spread_mb"]
        print(
            "| dashboard process peak RSS (load, analyse, explain) "
            f"| {pr['without']:,.0f} MB ± {spread['without']:.0f} "
            f"| {pr['with']:,.0f} MB ± {spread['with']:.0f} (+{pr['with'] - pr['without']:.0f} MB; concept data "
            f"{mem['concept_data_mb']:.1f} MB) | < +100 MB |"
        )
    print()
    print(f"fox centroid {ed['centroid_id']} offline label: {ed['offline_label'][0]!r} (BA {ed['offline_label'][1]})")
    print("content-word label kinds:", json.dumps(rep["content_kinds"]))
    if rep["dropped_below_ci"]:
        print("dropped below CI (id, before, after):", rep["dropped_below_ci"])
    print("\nexamples of changed labels (held-out BA before -> after):")
    changed = [r for r in rows if r["base"]["rule"] != r["new"]["rule"] and r["new"]["ba"] is not None]
    for r in sorted(changed, key=lambda r: -(r["new"]["ba"] - (r["base"]["ba"] or 0)))[:12]:
        print(
            f"  {r['centroid_id']:>3} {r['base']['label'][:55]!r} {r['base']['ba']} "
            f"-> {r['new']['label'][:90]!r} {r['new']['ba']}"
        )


if __name__ == "__main__":
    main()
