"""An offline description of a centroid's output side, from the tokens it promotes: the promoted tokens are
grouped into simple classes computed from the token string (punctuation kinds, numbers, word pieces) and,
for whole words when spaCy is installed, the word's part of speech and number ("plural nouns")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autointerp.fidelity.output_side import TokenScore
from autointerp.tokens import ALNUM, NUMBER, YEAR

NOTHING = "barely changes the next token"
MIN_CHANGE = 0.005  # a mean rise under half a percentage point is not described as promoting anything

_PUNCT = {
    ".": "sentence ends",
    "!": "sentence ends",
    "?": "sentence ends",
    ",": "commas",
    ";": "semicolons and colons",
    ":": "semicolons and colons",
    "(": "opening brackets",
    "[": "opening brackets",
    ")": "closing brackets",
    "]": "closing brackets",
    "“": "opening quotes",
    "”": "closing quotes",
    "-": "dashes",
    "–": "dashes",
    "—": "dashes",
}
_POS = {
    "NOUN": "nouns",
    "PROPN": "names",
    "VERB": "verbs",
    "ADJ": "adjectives",
    "ADV": "adverbs",
    "ADP": "prepositions",
    "DET": "determiners",
    "PRON": "pronouns",
    "AUX": "auxiliary verbs",
    "CCONJ": "conjunctions",
    "SCONJ": "conjunctions",
    "NUM": "numbers",
    "PART": "particles",
}


def string_class(token: str) -> str | None:
    """The class a token string alone decides, or None for a whole word (left to the tagger)."""
    if "\n" in token:
        return "line breaks"
    w = token.strip()
    if not w:
        return "spaces"
    if w in ('"', "'"):
        return "opening quotes" if token.startswith(" ") else "closing quotes"
    if w in _PUNCT:
        return _PUNCT[w]
    if YEAR.fullmatch(w):
        return "years"
    if NUMBER.fullmatch(w):
        return "numbers"
    if not ALNUM.search(w):
        return "punctuation"
    if not token.startswith(" ") and w[0].isalpha():
        return "word pieces"
    return None


def word_classes(words: Sequence[str], tagger: Any = None) -> dict[str, str]:
    """Class of each whole word: spaCy's part of speech (nouns split by number), else its case."""
    out = {w: ("capitalised words" if w.strip()[:1].isupper() else "lowercase words") for w in words}
    if tagger is None or not words:
        return out
    unique = sorted(set(words))
    off = [p for p in ("ner", "parser", "lemmatizer", "senter") if p in tagger.pipe_names]  # tags are enough
    with tagger.select_pipes(disable=off):
        docs = list(tagger.pipe([w.strip() for w in unique], batch_size=256))
    for word, doc in zip(unique, docs, strict=True):
        if len(doc) == 0:
            continue
        t = doc[0]
        label = _POS.get(t.pos_)
        if label == "nouns" and "Plur" in t.morph.get("Number"):
            label = "plural nouns"
        if label:
            out[word] = label
    return out


def describe(tokens: Sequence[TokenScore], classes: dict[str, str], groups: int = 3) -> str:
    """'promotes plural nouns (' years', ' people') / ' of' / closing quotes', from the tokens whose
    value (a probability rise) is at least MIN_CHANGE; a group that one token dominates is named by it."""
    kept = [t for t in tokens if t.value >= MIN_CHANGE]
    if not kept:
        best = max((t.value for t in tokens), default=0.0)
        return f"{NOTHING} (largest mean rise {best:+.1%})"
    mass: dict[str, list[TokenScore]] = {}
    for t in kept:
        mass.setdefault(classes.get(t.token) or string_class(t.token) or "other tokens", []).append(t)
    ranked = sorted(mass.items(), key=lambda kv: -sum(t.value for t in kv[1]))[:groups]
    parts = []
    for name, members in ranked:
        total = sum(t.value for t in members)
        if members[0].value >= 0.6 * total:
            parts.append(repr(members[0].token))
        else:
            parts.append(f"{name} ({', '.join(repr(t.token) for t in members[:2])})")
    return "promotes " + " / ".join(parts)


def class_table(token_lists: Sequence[Sequence[TokenScore]], tagger: Any = None) -> dict[str, str]:
    """Classes for every token in the lists: string classes first, the tagger for the remaining words
    (each distinct word tagged once for all centroids)."""
    out: dict[str, str] = {}
    words = []
    for tokens in token_lists:
        for t in tokens:
            c = string_class(t.token)
            if c is None:
                words.append(t.token)
            else:
                out[t.token] = c
    return {**out, **word_classes(words, tagger)}
