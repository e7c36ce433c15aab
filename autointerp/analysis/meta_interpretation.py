"""Meta-interpretation: how the model processed a sentence, every claim grounded in tokens and centroids."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from autointerp.analysis.sentence import SentenceAnalysis
from autointerp.constants import LOW_CONFIDENCE
from autointerp.errors import LLMError
from autointerp.explain.clients.protocol import LLMClient, parse_json_object
from autointerp.explain.explainers.contract import Rule
from autointerp.explain.explainers.offline import concept_meaning
from autointerp.explain.features import STRUCTURE, category_of, shape, word_class
from autointerp.explain.prompts.meta import SCHEMA, meta_prompt
from autointerp.fidelity.records import FidelityRecord
from autointerp.formatting import confidence_text, confidence_value
from autointerp.records import SentenceRow
from autointerp.tokens import visible

GROUPS = {
    "structure": "SYNTACTIC STRUCTURE (punctuation and boundaries)",
    "function": "FUNCTION WORDS",
    "content": "CONTENT AND SEMANTIC CATEGORIES",
}


@dataclass
class Fact:
    """One centroid used in the sentence: its tokens, explanation and measured confidence (None: not measured)."""

    centroid_id: int
    tokens: list[str]
    positions: list[int]
    explanation: str
    confidence: float | None
    mean_activation: float
    group: str
    flags: list[str] = field(default_factory=list)
    meaning: str | None = None  # the concept a concept rule names ("Living things"), None for other rules

    @property
    def uncertain(self) -> bool:
        return self.confidence is not None and self.confidence < LOW_CONFIDENCE

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "uncertain": self.uncertain}


def _group_of(row: SentenceRow, rule_features: set[str]) -> str:
    """From the rule when it names a word class or character class, else from the token itself."""
    if any(f.startswith(("class:", "shape:", "pos:")) for f in rule_features):
        return category_of(rule_features)
    if shape(row.token_str) in STRUCTURE:
        return "structure"
    return "function" if word_class(row.token_str) else "content"


def grounded_facts(analysis: SentenceAnalysis) -> list[Fact]:
    by_cid: dict[int, list[SentenceRow]] = defaultdict(list)
    for row in analysis.rows:
        by_cid[row.centroid_id].append(row)
    facts = []
    for cid, rows in by_cid.items():
        e = analysis.explanations.get(cid)
        rule = e.info.rule if e else None
        feats = {f for term in rule for f in term} if rule else set()
        # a person's words are quoted as written, not renamed after the concept they were read as
        meaning = concept_meaning(Rule.from_json(rule)) if rule and not (e and e.info.human_edited) else None
        first = rows[0]
        facts.append(
            Fact(
                centroid_id=cid,
                tokens=[r.token_str for r in rows],
                positions=[r.position for r in rows],
                explanation=first.explanation,
                confidence=confidence_value(first.confidence) if first.measured else None,
                mean_activation=round(sum(r.activation for r in rows) / len(rows), 3),
                group=_group_of(first, feats),
                flags=list(first.flags),
                meaning=meaning,
            )
        )
    facts.sort(key=lambda f: f.positions[0])
    return facts


def _tokens(f: Fact, n: int = 6) -> str:
    """The fact's distinct tokens in text order, with a count when one repeats, and "…" past `n`."""
    counts = Counter(t.strip() or visible(t) for t in f.tokens)  # a space token reads "·", not "' '"
    shown = [f"{t!r} ×{c}" if c > 1 else repr(t) for t, c in list(counts.items())[:n]]
    return ", ".join(shown) + (", …" if len(counts) > n else "")


def _by_meaning(facts: list[Fact]) -> list[str]:
    """One line per centroid, except that centroids whose labels name the same concept share a line, said
    in plain English: 'fox', 'dog' → Living things (centroid 15, 0.62 confidence; centroid 40, ...)."""
    groups: dict[str | int, list[Fact]] = {}
    for f in facts:
        groups.setdefault(f.meaning or f.centroid_id, []).append(f)
    return [_line(members) for members in groups.values()]


def _line(members: list[Fact]) -> str:
    tokens, first = ", ".join(_tokens(f) for f in members), members[0]
    if first.meaning is None:
        conf = confidence_text(first.confidence)
        return f'{tokens} → centroid {first.centroid_id} "{first.explanation}" ({conf} confidence)'
    cites = "; ".join(f"centroid {f.centroid_id}, {confidence_text(f.confidence)} confidence" for f in members)
    return f"{tokens} → {first.meaning} ({cites})"


def offline_interpretation(analysis: SentenceAnalysis) -> str:
    facts = grounded_facts(analysis)
    lines = [f"The model assigned the {len(analysis.rows)} tokens of this text to {len(facts)} centroids."]
    if analysis.truncated:
        lines.append(analysis.notice)
    sections: list[tuple[str, list[str]]] = []
    for group, title in GROUPS.items():
        sure = [f for f in facts if f.group == group and f.confidence is not None and not f.uncertain]
        sections.append((f"{title}:", _by_meaning(sure)))
    unsure = [f for f in facts if f.uncertain]
    sections.append(
        (
            f"UNCERTAIN (measured confidence below {LOW_CONFIDENCE}; not asserted):",
            [
                f'{_tokens(f)} → centroid {f.centroid_id} "{f.explanation}" ({confidence_text(f.confidence)})'
                for f in unsure
            ],
        )
    )
    unmeasured = [f for f in facts if f.confidence is None]
    sections.append(
        (
            "NOT MEASURED (no held-out score; not asserted):",
            [f'{_tokens(f)} → centroid {f.centroid_id} "{f.explanation}"' for f in unmeasured],
        )
    )
    num = 1
    for title, items in sections:
        if items:
            lines += ["", f"{num}. {title}", *(f"   - {i}" for i in items)]
            num += 1
    shared = [f for f in facts if len(f.tokens) > 1]
    if shared:
        joined = "; ".join(f"{_tokens(f, 4)} (centroid {f.centroid_id})" for f in shared)
        lines += ["", f"Tokens that share a centroid: {joined}."]
    return "\n".join(lines)


def render_claims(claims: list[dict[str, Any]], facts: list[Fact]) -> str:
    """One line per claim with the measured confidence of each centroid it cites; claims that cite no
    centroid of this text are left out and counted."""
    by_id = {f.centroid_id: f for f in facts}
    lines, dropped = [], 0
    for claim in claims:
        ids = [i for i in dict.fromkeys(claim["centroid_ids"]) if i in by_id]
        if not ids:
            dropped += 1
            continue
        cites = "; ".join(f"centroid {i}: {_measured(by_id[i])}" for i in ids)
        lines.append(f"- {claim['text'].strip()} [{cites}]")
    if lines and dropped:
        lines.append(f"({dropped} claim(s) citing no centroid of this text were left out.)")
    return "\n".join(lines)


def _measured(f: Fact) -> str:
    if f.confidence is None:
        return "not measured"
    return confidence_text(f.confidence) + (" uncertain" if f.uncertain else "")


def read_claims(text: str) -> list[dict[str, Any]]:
    """The claims of a structured answer; LLMError when the answer is JSON of another shape."""
    claims = parse_json_object(text).get("claims")
    ok = isinstance(claims, list) and all(
        isinstance(c, dict)
        and isinstance(c.get("text"), str)
        and isinstance(c.get("centroid_ids"), list)
        and all(isinstance(i, int) and not isinstance(i, bool) for i in c["centroid_ids"])
        for c in claims
    )
    if not ok or claims is None:
        raise LLMError(f"the LLM answer lacks a list of claims with centroid ids: {text[:120]!r}", "unreadable answer")
    return claims


def fidelity_note(analysis: SentenceAnalysis, record: FidelityRecord | None, share: float = 0.1) -> str:
    """Where the codebook loses information in this text, only from KL measured at build time: tokens whose
    centroid is among the `share` of measured centroids the model misses most. Empty when none is."""
    if record is None or not record.centroids:
        return ""
    ranked = sorted(record.centroids, key=lambda c: -c.kl_mean)
    worst = {c.centroid_id: c for c in ranked[: max(1, int(len(ranked) * share))]}
    hit: dict[int, list[str]] = defaultdict(list)
    for r in analysis.rows:
        if r.centroid_id in worst:
            hit[r.centroid_id].append(repr(r.token_str))
    if not hit:
        return ""
    parts = "; ".join(
        f"{', '.join(toks[:4])} → centroid {cid} (KL {worst[cid].kl_mean:.2f} nats)" for cid, toks in hit.items()
    )
    return (
        f"Where the codebook loses information (layer {record.layer}: CE loss recovered {record.ce_recovered:.2f}, "
        f"FVE {record.fve:.2f}): {parts}. These centroids are among the {len(worst)} of {len(ranked)} measured whose "
        "members, patched alone with their centroid, change the model's next-token prediction most."
    )


async def interpret(
    analysis: SentenceAnalysis, client: LLMClient | None = None, fidelity: FidelityRecord | None = None
) -> str:
    """Offline: built from the structured analysis. With an LLM: the LLM writes claims from the same facts,
    each shown with the measured confidence of the centroids it cites. Either way, the measured fidelity note
    (`fidelity_note`) follows when this text has tokens where the codebook loses most."""
    note = fidelity_note(analysis, fidelity)
    text = await _interpret(analysis, client)
    return text + ("\n\n" + note if note else "")


async def _interpret(analysis: SentenceAnalysis, client: LLMClient | None) -> str:
    if client is None:
        return offline_interpretation(analysis)
    facts = grounded_facts(analysis)
    try:
        text = await client.complete(meta_prompt([f.to_dict() for f in facts]), schema=SCHEMA)
        if "{" not in text:  # a server without structured outputs that answered in prose: shown, marked
            return text.strip() + "\n\n(Free text: the LLM gave no structured claims, so none was checked.)"
        rendered = render_claims(read_claims(text), facts)
        if not rendered:
            raise LLMError("every claim of the LLM cited centroids that are not in this text", "ungrounded answer")
        return rendered
    except LLMError as exc:
        return offline_interpretation(analysis) + f"\n\n(The LLM failed, so this summary is the offline one: {exc})"
