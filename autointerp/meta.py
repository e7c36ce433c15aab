"""Meta-interpretation: how the model processed a sentence, every claim grounded in tokens and centroids."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from .errors import LLMError
from .features import category_of, shape, word_class

LOW = 0.4
GROUPS = {
    "structure": "SYNTACTIC STRUCTURE (punctuation and boundaries)",
    "function": "FUNCTION WORDS",
    "content": "CONTENT AND SEMANTIC CATEGORIES",
}
PROMPT_VERSION = "meta-1"


def _group_of(row: dict[str, Any], rule_features: set[str]) -> str:
    """From the rule when it names a word class or character class, else from the token itself."""
    if any(f.startswith(("class:", "shape:", "pos:")) for f in rule_features):
        return category_of(rule_features)
    tok = row["token_str"]
    if shape(tok) in {"sentence_end", "comma", "bracket", "quote", "other_punct", "newline"}:
        return "structure"
    return "function" if word_class(tok) else "content"


def grounded_facts(analysis: Any) -> list[dict[str, Any]]:
    """One fact per centroid used in the sentence: its tokens, explanation and measured confidence."""
    by_cid: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in analysis.rows:
        by_cid[row["centroid_id"]].append(row)
    facts = []
    for cid, rows in by_cid.items():
        e = analysis.explanations.get(cid)
        rule = (e.metadata.get("evidence") or {}).get("rule") if e else None
        feats = {f for term in rule for f in term} if rule else set()
        facts.append(
            {
                "centroid_id": cid,
                "tokens": [r["token_str"] for r in rows],
                "positions": [r["position"] for r in rows],
                "explanation": rows[0]["explanation"],
                "confidence": round(rows[0]["confidence"], 2),
                "mean_activation": round(sum(r["activation"] for r in rows) / len(rows), 3),
                "uncertain": rows[0]["confidence"] < LOW,
                "flags": rows[0].get("flags", []),
                "group": _group_of(rows[0], feats),
            }
        )
    facts.sort(key=lambda f: f["positions"][0])
    return facts


def offline_interpretation(analysis: Any) -> str:
    facts = grounded_facts(analysis)
    n = len(analysis.rows)
    lines = [f"The model assigned the {n} tokens of this text to {len(facts)} centroids."]
    if analysis.truncated:
        lines.append(analysis.notice)
    num = 1
    for group, title in GROUPS.items():
        sure = [f for f in facts if f["group"] == group and not f["uncertain"]]
        if not sure:
            continue
        lines.append("")
        lines.append(f"{num}. {title}:")
        num += 1
        for f in sure:
            toks = ", ".join(repr(t.strip() or t) for t in f["tokens"][:6])
            lines.append(
                f'   - {toks} → centroid {f["centroid_id"]} "{f["explanation"]}" ({f["confidence"]:.2f} confidence)'
            )
    unsure = [f for f in facts if f["uncertain"]]
    if unsure:
        lines.append("")
        lines.append(f"{num}. UNCERTAIN (measured confidence below {LOW}; not asserted):")
        for f in unsure:
            toks = ", ".join(repr(t.strip() or t) for t in f["tokens"][:6])
            lines.append(f'   - {toks} → centroid {f["centroid_id"]} "{f["explanation"]}" ({f["confidence"]:.2f})')
    shared = [f for f in facts if len(f["tokens"]) > 1]
    if shared:
        lines.append("")
        lines.append(
            "Tokens that share a centroid: "
            + "; ".join(
                f"{', '.join(repr(t.strip() or t) for t in f['tokens'][:4])} (centroid {f['centroid_id']})"
                for f in shared
            )
            + "."
        )
    return "\n".join(lines)


def meta_prompt(analysis: Any) -> str:
    facts = grounded_facts(analysis)
    return (
        "You summarise how a language model processed a text, using ONLY the facts below. Each fact is a k-means "
        "centroid of the model's activations, the tokens assigned to it, its explanation and a confidence measured "
        "on held-out data. Group tokens into structure/punctuation, function words and semantic categories. Cite "
        "token strings, centroid ids and confidences for every claim. Call any centroid with confidence below "
        f"{LOW} uncertain; do not assert it. Write at most 12 lines.\n\nFACTS (JSON):\n" + json.dumps(facts)
    )


async def interpret(analysis: Any, llm_client: Any = None) -> str:
    """Offline: built from the structured analysis. With an LLM: the LLM writes from the same facts."""
    if llm_client is None:
        return offline_interpretation(analysis)
    from .clients.base import complete_text

    try:
        return await complete_text(llm_client, meta_prompt(analysis))
    except LLMError as exc:
        return offline_interpretation(analysis) + f"\n\n(The LLM failed, so this summary is the offline one: {exc})"
