"""Reading a human-written label back into a rule, so edits can be scored exactly offline."""

from __future__ import annotations

import re

from autointerp.explain.explainers.base import Rule
from autointerp.explain.features import CLASS_LABELS, ENT_LABELS, POS_LABELS, SHAPE_LABELS, SUFFIX_LABELS

QUOTED = re.compile(r"""(?:'([^']*)'|"([^"]*)")""")


def _category_features(text: str) -> list[str]:
    low = text.lower()
    found = []
    tables = (
        ("class", CLASS_LABELS),
        ("shape", SHAPE_LABELS),
        ("suffix", SUFFIX_LABELS),
        ("ent", ENT_LABELS),
        ("pos", POS_LABELS),
    )
    for kind, table in tables:
        for key, label in table.items():
            if label.split(" (")[0].lower() in low:
                found.append(f"{kind}:{key}")
    if "punctuation" in low and not any(f.startswith("shape:") for f in found):
        found.append("shape:other_punct")
    return found


def rule_from_text(text: str) -> Rule | None:
    """'The word 'the' after 'of'' → tok:the ∧ prev:of; 'Determiners and articles' → class:determiner.
    Returns None when the text names nothing we can check exactly."""
    context: list[str] = []
    rest = text
    for word, kind in (("after", "prev"), ("before", "next")):
        for m in re.finditer(rf"{word}\s+(?:'([^']*)'|\"([^\"]*)\")", rest):
            context.append(f"{kind}:{(m.group(1) or m.group(2) or '').strip().lower()}")
        rest = re.sub(rf"{word}\s+(?:'[^']*'|\"[^\"]*\")", " ", rest)
    quoted = [(a or b).strip().lower() for a, b in QUOTED.findall(rest)]
    if quoted:
        terms = [frozenset({f"tok:{q}", *context}) for q in dict.fromkeys(quoted)]
        return Rule(terms)
    cats = _category_features(rest)
    if cats:
        return Rule([frozenset({cats[0], *context})])
    if context:
        return Rule([frozenset(context)])
    return None
