"""The offline default explainer: finds the simplest feature rule that separates a cluster, no LLM needed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import combinations, product

from autointerp.explain.explainers.contract import ClusterEvidence, ExplanationDraft, Rule, TokenEvidence
from autointerp.explain.features import STRUCTURE, Feature, describe, norm_token, shape, token_features
from autointerp.explain.semantics import concept_label, concept_names, is_concept

CONTEXT_KINDS = ("prev:", "prevclass:", "prevshape:", "next:")
WORDNET_KINDS = ("lex:", "syn:", "attr:")
PROMPT_VERSION = "offline-rules-4"
CONCEPT_SHARE = 0.05  # a concept must cover this share of the members to be tried
MAX_CONCEPTS = 15
MAX_EXTRA_WORDS = 5  # a concept may take up to this many member words it misses ("... or the word 'christ'")
# A concept rule must beat today's kinds of rule by this much on validation: the concept families add about
# 150 candidates, and the best of more candidates overfits more (measured: 3-concept rules lose ~0.02 BA
# from validation to held-out, a word class ~0.007).
CONCEPT_MARGIN = 0.01


@dataclass(frozen=True)
class ConceptRule:
    """How a concept rule reads: concepts OR-ed, optionally narrowed to a word class, plus named words."""

    concepts: tuple[str, ...]
    head: str | None = None  # a pos: feature every term also requires
    words: tuple[str, ...] = ()  # tok: features OR-ed in


class FeatureBits:
    """Which of a list of tokens carry each feature, one integer bitset per feature. The explainer checks
    about 400 candidate rules on a thousand tokens per centroid; a set test per token and rule was 90% of
    explaining (measured), a few integer operations per rule term are not."""

    def __init__(self, tokens: list[TokenEvidence]):
        self.n = len(tokens)
        bits: dict[str, int] = {}
        for i, t in enumerate(tokens):
            b = 1 << i
            for f in t.features:
                bits[f] = bits.get(f, 0) | b
        self.bits = bits
        self.all = (1 << self.n) - 1

    def matched(self, rule: Rule) -> int:
        """How many tokens the rule matches: the same count as `rule.matches` token by token."""
        hit = 0
        for term in rule.terms:
            m = self.all
            for f in term:
                m &= self.bits.get(f, 0)
                if not m:
                    break
            hit |= m
        return hit.bit_count()


class RuleChecker:
    """Balanced accuracy of many rules on one cluster's members against its negative groups."""

    def __init__(self, pos: list[TokenEvidence], neg_groups: list[list[TokenEvidence]]):
        self.pos = FeatureBits(pos)
        self.negs = [FeatureBits(g) for g in neg_groups if g]

    def balanced_accuracy(self, rule: Rule) -> float:
        tpr = self.pos.matched(rule) / max(1, self.pos.n)
        tnrs = [1 - g.matched(rule) / g.n for g in self.negs]
        tnr = sum(tnrs) / len(tnrs) if tnrs else 1.0
        return (tpr + tnr) / 2


def checker(evidence: ClusterEvidence) -> RuleChecker:
    """Rules checked on a cluster's members against its nearest neighbours' members and random tokens."""
    return RuleChecker(evidence.members, [evidence.contrast, evidence.background])


def _complexity(rule: Rule) -> int:
    return sum(len(t) for t in rule.terms)


def _prior(rule: Rule, concept_margin: float = CONCEPT_MARGIN) -> float:
    """What a rule must make up for on validation: its size, naming tokens, and being a concept rule."""
    margin = concept_margin if concept_parts(rule) is not None else 0.0
    return 0.005 * _complexity(rule) + 0.001 * _lexical(rule) + margin


def _lexical(rule: Rule) -> int:
    """On a tie, a category ("Sentence-final punctuation") beats naming the token ("The word '.'")."""
    return int(any(Feature(f).kind == "tok" for t in rule.terms for f in t))


def _ranked_counts(members: list[TokenEvidence]) -> list[tuple[str, int]]:
    """Feature counts, most frequent first, ties by name (so the candidates do not depend on set order)."""
    counts = Counter(f for t in members for f in t.features)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def candidate_rules(members: list[TokenEvidence], concepts: bool = True) -> list[Rule]:
    """Today's rules (single features, token sets, feature AND context), then the concept rules."""
    counts = _ranked_counts(members)
    n = max(1, len(members))
    frequent = [f for f, c in counts if c / n >= 0.2 and f != "position:body"]
    rules = [Rule([frozenset([f])]) for f in frequent if not f.startswith(("next:", *WORDNET_KINDS))]
    toks = [f for f, _ in counts if Feature(f).kind == "tok"]
    for size in range(2, min(6, len(toks)) + 1):
        rules.append(Rule([frozenset([t]) for t in toks[:size]]))
    heads = [f for f in frequent if not f.startswith((*CONTEXT_KINDS, *WORDNET_KINDS))][:6]
    contexts = [f for f in frequent if f.startswith(CONTEXT_KINDS)][:6]
    for h, c in product(heads, contexts):
        rules.append(Rule([frozenset([h, c])]))
    if concepts:
        found = [f for f, c in counts if is_concept(f) and c / n >= CONCEPT_SHARE][:MAX_CONCEPTS]
        rules += concept_rules(members, found, [f for f in frequent if f.startswith("pos:")], toks)
    return rules


def concept_rules(members: list[TokenEvidence], found: list[str], pos: list[str], toks: list[str]) -> list[Rule]:
    """A single concept, word class AND concept, two or three concepts OR-ed for clusters one concept
    does not cover, and a concept OR-ed with the few frequent member words it misses."""
    wordnet = [f for f in found if f.startswith(WORDNET_KINDS)]
    rules = [Rule([frozenset([f])]) for f in wordnet]
    for p, c in product(pos[:3], wordnet[:8]):
        rules.append(Rule([frozenset([p, c])]))
    for size in (2, 3):
        for group in combinations(found[: 15 if size == 2 else 10], size):
            rules.append(Rule([frozenset([f]) for f in group]))
    for c in found[:6]:
        rules += _concept_with_words(members, c, toks)
    return rules


def _concept_with_words(members: list[TokenEvidence], concept: str, toks: list[str]) -> list[Rule]:
    """The concept OR-ed with 1..MAX_EXTRA_WORDS frequent member words it misses, while the concept still
    covers at least half of what the rule matches: a concept with exceptions, not a token list with a name."""
    covered = sum(concept in m.features for m in members)
    missed = [t for t in toks[:10] if not any(concept in m.features for m in members if t in m.features)]
    rules, extra = [], 0
    for k, t in enumerate(missed[:MAX_EXTRA_WORDS], 1):
        extra += sum(t in m.features for m in members)
        if covered < extra:
            break
        rules.append(Rule([frozenset([concept]), *(frozenset([w]) for w in missed[:k])]))
    return rules


def concept_parts(rule: Rule) -> ConceptRule | None:
    """How a concept rule reads, or None for today's kinds of rule (and for a lone entity type, which
    keeps today's label)."""
    terms = rule.terms
    if len(terms) == 1:
        wn = [f for f in terms[0] if f.startswith(WORDNET_KINDS)]
        rest = [f for f in terms[0] if not f.startswith(WORDNET_KINDS)]
        if len(wn) == 1 and len(rest) <= 1 and all(f.startswith("pos:") for f in rest):
            return ConceptRule(tuple(wn), rest[0] if rest else None)
        return None
    if not terms or any(len(t) != 1 for t in terms):
        return None
    feats = [next(iter(t)) for t in terms]
    cs = tuple(f for f in feats if is_concept(f))
    words = tuple(f for f in feats if f.startswith("tok:"))
    if not cs or len(cs) + len(words) != len(feats) or (words and len(cs) > 1):
        return None
    return ConceptRule(cs, None, words)


def concept_meaning(rule: Rule) -> str | None:
    """What a concept rule means in plain English ('Living things'), None for other rules."""
    parts = concept_parts(rule)
    return concept_names(list(parts.concepts)) if parts is not None else None


def example_words(rule: Rule, members: list[TokenEvidence], n: int = 4) -> list[str]:
    """The most frequent whole-word members the rule matches: what a reader checks a concept name against."""
    counts = Counter(
        norm_token(t.token)
        for t in members
        if rule.matches(t.features) and shape(t.token) not in ("fragment", "other_punct") and len(t.token.strip()) > 1
    )
    return [w for w, _ in counts.most_common(n)]


def concept_rule_label(parts: ConceptRule) -> str:
    label = concept_label(list(parts.concepts), parts.head)
    if parts.words:
        words = [Feature(w).value for w in parts.words]
        label += (" or the word " if len(words) == 1 else " or the words ") + ", ".join(map(repr, words))
    return label


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
    concept = concept_parts(rule)
    if concept is not None:
        return concept_rule_label(concept)
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
    reads_context = False  # rules are over token features

    def __init__(self, concept_rules: bool = True, concept_margin: float = CONCEPT_MARGIN):
        self.concept_rules = concept_rules  # False: only the rule kinds that predate concepts (for baselines)
        self.concept_margin = concept_margin  # what a concept rule must gain on validation (bench sweeps it)

    def ranked_rules(
        self, evidence: ClusterEvidence, n: int = 5, check: RuleChecker | None = None
    ) -> list[tuple[Rule, float]]:
        """Candidate rules, best first, by validation balanced accuracy with a small simplicity prior."""
        check = check or checker(evidence)
        scored = [
            (rule, check.balanced_accuracy(rule) - _prior(rule, self.concept_margin))
            for rule in candidate_rules(evidence.members, self.concept_rules)
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
        check = checker(evidence)
        return self.draft(evidence, self.ranked_rules(evidence, 1, check)[0][0], check=check)

    def draft(
        self,
        evidence: ClusterEvidence,
        best: Rule,
        explainer: str | None = None,
        model: str | None = None,
        extra: dict | None = None,
        check: RuleChecker | None = None,
    ) -> ExplanationDraft:
        check = check or checker(evidence)
        label = label_for(best)
        parts = concept_parts(best)
        if parts is not None:
            concept_only = Rule([t for t in best.terms if not t <= set(parts.words)])
            words = example_words(concept_only, evidence.members)
            if words:
                label += ", e.g. " + ", ".join(words)
        flags = list(evidence.flags)
        if "single-token" in flags and not label.startswith("The word") and evidence.top_tokens:
            top = evidence.top_tokens[0][0]
            if label.startswith("Tokens ") and top.strip():  # context-only rule: name the word (a space token
                # has none to name: it read "The word ''", and a rule for the empty word matches nothing)
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
                "validation_balanced_accuracy": round(check.balanced_accuracy(best), 4),
                "match_rate_by_band": band_match,
                "top_tokens": evidence.top_tokens[:8],
                "next_tokens": evidence.next_tokens[:5],
                "flags": flags,
                **(extra or {}),
            },
            prompt_version=self.prompt_version,
        )
