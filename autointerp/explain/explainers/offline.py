"""The offline default explainer: finds the simplest feature rule that separates a cluster, no LLM needed."""

from __future__ import annotations

from collections import Counter
from itertools import product

from autointerp.explain.explainers.base import ClusterEvidence, ExplanationDraft, Rule, TokenEvidence
from autointerp.explain.features import STRUCTURE, Feature, describe, token_features

CONTEXT_KINDS = ("prev:", "prevclass:", "prevshape:", "next:")
PROMPT_VERSION = "offline-rules-3"


def balanced_accuracy(rule: Rule, pos: list[TokenEvidence], neg_groups: list[list[TokenEvidence]]) -> float:
    tpr = sum(rule.matches(t.features) for t in pos) / max(1, len(pos))
    tnrs = [1 - sum(rule.matches(t.features) for t in g) / len(g) for g in neg_groups if g]
    tnr = sum(tnrs) / len(tnrs) if tnrs else 1.0
    return (tpr + tnr) / 2


def _complexity(rule: Rule) -> int:
    return sum(len(t) for t in rule.terms)


def _lexical(rule: Rule) -> int:
    """On a tie, a category ("Sentence-final punctuation") beats naming the token ("The word '.'")."""
    return int(any(Feature(f).kind == "tok" for t in rule.terms for f in t))


def candidate_rules(members: list[TokenEvidence]) -> list[Rule]:
    counts = Counter(f for t in members for f in t.features)
    n = max(1, len(members))
    frequent = [f for f, c in counts.most_common() if c / n >= 0.2]
    frequent = [f for f in frequent if f != "position:body"]
    rules = [Rule([frozenset([f])]) for f in frequent if not f.startswith("next:")]
    toks = [f for f, _ in counts.most_common() if Feature(f).kind == "tok"][:6]
    for size in range(2, len(toks) + 1):
        rules.append(Rule([frozenset([t]) for t in toks[:size]]))
    heads = [f for f in frequent if not f.startswith(CONTEXT_KINDS)][:6]
    contexts = [f for f in frequent if f.startswith(CONTEXT_KINDS)][:6]
    for h, c in product(heads, contexts):
        rules.append(Rule([frozenset([h, c])]))
    return rules


def token_set_category(words: list[str]) -> str:
    """Name what most words of a token-set rule have in common, so the label is a category, not a list."""
    feats: Counter[str] = Counter()
    for w in words:
        f = token_features(" " + w if w and w[0].isalnum() else w, None, None, 5)
        cats: set[str] = {x for x in f if x.kind in ("class", "shape", "suffix")}
        if any(x.value in STRUCTURE for x in f if x.kind == "shape"):
            cats.add("punct")
        feats.update(cats)
    for name, c in feats.most_common():
        if c / len(words) >= 0.6 and name != "shape:lowercase":
            structural = name == "punct" or Feature(name).value in STRUCTURE
            return "Punctuation" if structural else describe(name).split(" (")[0]
    return "Words"


def label_for(rule: Rule) -> str:
    if all(len(t) == 1 and Feature(next(iter(t))).kind == "tok" for t in rule.terms) and len(rule.terms) > 1:
        words = [Feature(next(iter(t))).value for t in rule.terms]
        shown = ", ".join(repr(w) for w in words[:4] if w) or repr(words[0])
        return f"{token_set_category(words)} such as {shown}"
    (term,) = rule.terms if len(rule.terms) == 1 else (rule.terms[0],)
    head = [f for f in term if not f.startswith(CONTEXT_KINDS)]
    ctx = [f for f in term if f.startswith(CONTEXT_KINDS)]
    parts = [describe(f) for f in head] + [describe(f) for f in ctx]
    text = " ".join(parts) if head else "Tokens " + " ".join(parts)
    if text.startswith("the token "):
        text = "The word " + text[len("the token ") :]
    return text[0].upper() + text[1:]


class OfflineExplainer:
    """Characterises a cluster by token identity, word class, character class, position and neighbours.

    Candidate rules are ranked by balanced accuracy on the validation members (all distance bands)
    against hard negatives from the nearest centroids and random tokens; ties go to the simpler rule.
    """

    name = "offline-rules"
    prompt_version = PROMPT_VERSION

    def ranked_rules(self, evidence: ClusterEvidence, n: int = 5) -> list[tuple[Rule, float]]:
        """Candidate rules, best first, by validation balanced accuracy with a small simplicity prior."""
        negs = [evidence.contrast, evidence.background]
        scored = [
            (rule, balanced_accuracy(rule, evidence.members, negs) - 0.005 * _complexity(rule) - 0.001 * _lexical(rule))
            for rule in candidate_rules(evidence.members)
        ]
        scored.sort(key=lambda t: -t[1])
        return scored[:n]

    async def explain(self, evidence: ClusterEvidence) -> ExplanationDraft:
        if not evidence.members:
            return ExplanationDraft(
                "Empty cluster (no validation tokens)",
                self.name,
                Rule([]),
                {"flags": evidence.flags},
                prompt_version=PROMPT_VERSION,
            )
        return self.draft(evidence, self.ranked_rules(evidence, 1)[0][0])

    def draft(
        self,
        evidence: ClusterEvidence,
        best: Rule,
        explainer: str | None = None,
        model: str | None = None,
        extra: dict | None = None,
    ) -> ExplanationDraft:
        negs = [evidence.contrast, evidence.background]
        label = label_for(best)
        flags = list(evidence.flags)
        if "single-token" in flags and not label.startswith("The word") and evidence.top_tokens:
            top = evidence.top_tokens[0][0]
            if label.startswith("Tokens "):  # context-only rule: name the word and what separates it
                label = f"The word {top.strip()!r} {label[len('Tokens ') :]}"
            else:
                label = f"{label} (mostly {top!r})"
        band_match = [
            round(sum(best.matches(t.features) for t in band) / len(band), 3) if band else None
            for band in evidence.bands
        ]
        return ExplanationDraft(
            explanation=label,
            explainer=explainer or self.name,
            model=model,
            rule=best,
            evidence={
                "rule": best.to_json(),
                "validation_balanced_accuracy": round(balanced_accuracy(best, evidence.members, negs), 4),
                "match_rate_by_band": band_match,
                "top_tokens": evidence.top_tokens[:8],
                "next_tokens": evidence.next_tokens[:5],
                "flags": flags,
                **(extra or {}),
            },
            prompt_version=self.prompt_version,
        )
