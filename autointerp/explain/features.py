"""Symbolic features of a token in context, shared by the offline explainer and the exact scorer."""

from __future__ import annotations

import functools

from autointerp.data.linguistic import ENT_LABELS, ENT_TYPES, POS_LABELS, POS_TAGS
from autointerp.tokens import ALNUM, NUMBER, YEAR


class Feature(str):
    """A binary token feature written `kind:value` (tok:the, pos:NOUN, prev:of); a str, so rules
    serialise as plain JSON and sets of features stay cheap."""

    __slots__ = ()

    @classmethod
    def of(cls, kind: str, value: str) -> Feature:
        return cls(f"{kind}:{value}")

    @property
    def kind(self) -> str:
        return self.partition(":")[0]

    @property
    def value(self) -> str:
        return self.partition(":")[2]


__all__ = ["ENT_LABELS", "POS_LABELS", "Feature"]

CLOSED_CLASSES: dict[str, frozenset[str]] = {
    "determiner": frozenset(
        [
            "the",
            "a",
            "an",
            "this",
            "that",
            "these",
            "those",
            "each",
            "every",
            "some",
            "any",
            "no",
            "another",
            "either",
            "neither",
        ]
    ),
    "preposition": frozenset(
        [
            "of",
            "in",
            "on",
            "at",
            "by",
            "for",
            "with",
            "from",
            "to",
            "into",
            "onto",
            "upon",
            "about",
            "above",
            "below",
            "under",
            "over",
            "between",
            "among",
            "through",
            "during",
            "before",
            "after",
            "against",
            "within",
            "without",
            "across",
            "along",
            "around",
            "behind",
            "beyond",
            "near",
            "toward",
            "towards",
            "via",
            "per",
            "despite",
            "throughout",
        ]
    ),
    "pronoun": frozenset(
        [
            "i",
            "you",
            "he",
            "she",
            "it",
            "we",
            "they",
            "me",
            "him",
            "us",
            "them",
            "himself",
            "herself",
            "itself",
            "themselves",
            "one",
        ]
    ),
    "possessive": frozenset(["his", "her", "its", "their", "our", "my", "your", "whose"]),
    "conjunction": frozenset(["and", "or", "but", "nor", "yet", "so"]),
    "subordinator": frozenset(
        ["if", "until", "since", "whether", "because", "although", "though", "while", "unless", "whereas", "when"]
    ),
    "auxiliary": frozenset(
        [
            "is",
            "are",
            "was",
            "were",
            "be",
            "been",
            "being",
            "am",
            "has",
            "have",
            "had",
            "do",
            "does",
            "did",
            "can",
            "could",
            "will",
            "would",
            "shall",
            "should",
            "may",
            "might",
            "must",
        ]
    ),
    "relative": frozenset(["which", "who", "whom", "what", "where", "why", "how"]),
    "negation": frozenset(["not", "no", "never", "n't"]),
    "number_word": frozenset(
        [
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "hundred",
            "thousand",
            "million",
            "billion",
        ]
    ),
    "month": frozenset(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ]
    ),
}
CLASS_LABELS = {
    "determiner": "Determiners and articles",
    "preposition": "Prepositions",
    "pronoun": "Personal pronouns",
    "possessive": "Possessive pronouns",
    "conjunction": "Coordinating conjunctions",
    "subordinator": "Subordinating conjunctions (if, since, while...)",
    "auxiliary": "Auxiliary and modal verbs",
    "relative": "Relative and question words",
    "negation": "Negation",
    "number_word": "Number words",
    "month": "Month names and dates",
}
SHAPE_LABELS = {
    "sentence_end": "Sentence-final punctuation",
    "comma": "Commas and clause boundaries",
    "bracket": "Brackets and parentheses",
    "quote": "Quotation marks",
    "other_punct": "Punctuation and symbols",
    "year": "Years and dates",
    "digits": "Numbers and digits",
    "newline": "Line breaks",
    "capitalised": "Capitalised words (names and sentence starts)",
    "fragment": "Word-piece continuations (inside a longer word)",
    "lowercase": "Lowercase content words",
}
SUFFIX_LABELS = {
    "ly": "-ly adverbs",
    "ing": "-ing verb forms",
    "ed": "-ed past tense and participles",
    "tion": "-tion/-sion abstract nouns",
    "al": "-al adjectives",
}
# Categories that form the structural/function-word layer in meta-interpretations.
STRUCTURE = {"sentence_end", "comma", "bracket", "quote", "other_punct", "newline"}
FUNCTION = set(CLOSED_CLASSES) - {"number_word", "month"}


def norm_token(s: str) -> str:
    return s.strip().lower()


def word_class(s: str) -> str | None:
    w = norm_token(s)
    for name, words in CLOSED_CLASSES.items():
        if w in words:
            return name
    return None


def shape(s: str) -> str:
    if "\n" in s:
        return "newline"
    w = s.strip()
    if not w:
        return "other_punct"
    if w in {".", "!", "?", "...", '."', ".)"}:
        return "sentence_end"
    if w in {",", ";", ":"}:
        return "comma"
    if w in {"(", ")", "[", "]", "{", "}"}:
        return "bracket"
    if w in {'"', "'", "“", "”", "‘", "’", "``", "''"}:
        return "quote"
    if YEAR.fullmatch(w):
        return "year"
    if NUMBER.fullmatch(w):
        return "digits"
    if not ALNUM.search(w):
        return "other_punct"
    if not s.startswith((" ", "\t")) and w[0].isalpha() and w[0].islower():
        return "fragment"
    if w[0].isupper():
        return "capitalised"
    return "lowercase"


def suffix(s: str) -> str | None:
    w = norm_token(s)
    if len(w) < 5 or not w.isalpha():
        return None
    for suf in ("ly", "ing", "ed", "al"):
        if w.endswith(suf):
            return suf
    if w.endswith(("tion", "sion")):
        return "tion"
    return None


def token_features(tok: str, prev: str | None, nxt: str | None, pos: int) -> set[Feature]:
    """Binary features; a structured explanation is a conjunction of one or two of them."""
    f = set(_string_features(tok, as_prev=False))
    if prev is not None:
        f |= _string_features(prev, as_prev=True)
    else:
        f.add(Feature("prev:<start>"))
    if nxt is not None:
        f.add(Feature.of("next", norm_token(nxt)))
    f.add(Feature("position:start" if pos < 2 else "position:body"))
    return f


@functools.lru_cache(maxsize=1 << 17)
def _string_features(s: str, as_prev: bool) -> frozenset[Feature]:
    """What a token string says about itself, or as the previous token: a function of the string alone, so
    remembered (bounded by the vocabulary); explaining every centroid asks for ~200k tokens' features."""
    word, shape_kind, class_kind = ("prev", "prevshape", "prevclass") if as_prev else ("tok", "shape", "class")
    f = {Feature.of(word, norm_token(s)), Feature.of(shape_kind, shape(s))}
    wc = word_class(s)
    if wc:
        f.add(Feature.of(class_kind, wc))
    sf = None if as_prev else suffix(s)
    if sf:
        f.add(Feature.of("suffix", sf))
    return frozenset(f)


@functools.cache  # a few hundred (pos, entity) pairs at most
def tag_features(pos: int, ent: int) -> frozenset[Feature]:
    """Features from the spaCy tag codes stored in a workspace (see build/linguistic.py)."""
    f = set()
    if pos:
        f.add(Feature.of("pos", POS_TAGS[pos]))
    if ent:
        f.add(Feature.of("ent", ENT_TYPES[ent]))
    return frozenset(f)


LABEL_TABLES = {
    "class": CLASS_LABELS,
    "shape": SHAPE_LABELS,
    "suffix": SUFFIX_LABELS,
    "pos": POS_LABELS,
    "ent": ENT_LABELS,
}


def describe(feature: str) -> str:
    """A concise human label for one feature."""
    f = Feature(feature)
    kind, value = f.kind, f.value
    if kind in LABEL_TABLES:
        return LABEL_TABLES[kind].get(value, value)
    if kind in ("tok", "prev", "next") and not value.strip():  # token text is stripped: only whitespace is empty
        return {"tok": "whitespace tokens (·, ↵)", "prev": "after whitespace", "next": "before whitespace"}[kind]
    if kind == "tok":
        return f"the token {value!r}"
    if kind == "prev":
        return f"after {value!r}"
    if kind == "prevclass":
        return f"after {CLASS_LABELS.get(value, value).lower()}"
    if kind == "prevshape":
        return f"after {SHAPE_LABELS.get(value, value).lower()}"
    if kind == "next":
        return f"before {value!r}"
    if kind == "position":
        return "at the start of the text" if value == "start" else "inside the text"
    return feature


FUNCTION_POS = {"ADP", "DET", "PRON", "AUX", "CCONJ", "SCONJ", "PART"}


def category_of(feature_set: frozenset[str] | set[str]) -> str:
    """Coarse group for meta-interpretation: structure, function or content."""
    for raw in feature_set:
        f = Feature(raw)
        if (f.kind == "shape" and f.value in STRUCTURE) or (f.kind == "pos" and f.value in {"PUNCT", "SYM"}):
            return "structure"
        if (f.kind == "class" and f.value in FUNCTION) or (f.kind == "pos" and f.value in FUNCTION_POS):
            return "function"
    return "content"
