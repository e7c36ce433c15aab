"""Reading free text back into a rule, so human edits and LLM explanations are scored exactly offline.

What is read, in order:
- concept ids our own labels carry: "(WordNet noun.animal | living_thing.n.01)", "(spaCy entity GPE)";
- quoted tokens, with "after 'x'" / "before 'y'" context: "The word 'the' after 'of'";
- named concepts: WordNet's lexicographer files by their labels or common names ("Animals", "Verbs of motion"),
  and, given the workspace's concept vocabulary, any WordNet lemma phrase ("living things", "cities");
- word classes and other categories by their labels ("Nouns", "Determiners and articles", "Commas").
Several concepts are OR-ed ("Animals and other living things" -> lex:noun.animal OR syn:living_thing.n.01);
a named word class narrows them ("Proper nouns naming cities" -> pos:PROPN AND syn:city.n.01).
Text that names none of these returns None: it is scored by an LLM if one can, else left unscored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from autointerp.explain.explainers.contract import Rule
from autointerp.explain.features import CLASS_LABELS, ENT_LABELS, POS_LABELS, SHAPE_LABELS, SUFFIX_LABELS
from autointerp.explain.semantics import LEXNAME_ALIASES, LEXNAME_LABELS, POS_PLURAL, is_concept

QUOTED = re.compile(r"""(?:'([^']*)'|"([^"]*)")""")
IDS = re.compile(r"\((?=WordNet |spaCy entity )(?:WordNet\s+([^);]+))?;?\s*(?:spaCy entity\s+([^)]+))?\)")
EXAMPLES = re.compile(r",?\s*\be\.g\.?.*$", re.S)
WORD = re.compile(r"[a-z][a-z'-]*")
MAX_CONCEPTS = 4
# Words that never name a concept on their own in a label.
GENERIC = frozenset(
    "word words token tokens term terms thing things kind kinds type types sort sorts form forms use uses "  # noqa: SIM905
    "context contexts cluster clusters example examples mostly mainly often usually other others such like "
    "including include includes related relating various different general common specific certain "
    "noun nouns verb verbs adjective adjectives adverb adverbs name names proper the and for with".split()
)
# Function and filler words: not content a concept could cover.
STOP = frozenset(
    "something anything about very which that this from into their them they where when there these those "  # noqa: SIM905
    "some any all most more many much each only also both than then over under after before between within "
    "without its it's are was were been being has have had not but can could would should may might will "
    "mostly mainly often usually referring refers refer relating relate describing describes describe denoting "
    "marking marks used using".split()
)
DETERMINERS = frozenset("the a an this that its his her their our your my".split())  # noqa: SIM905
POS_OF_WORD_CLASS = {"n": ("NOUN", "PROPN"), "v": ("VERB",), "a": ("ADJ", "ADV"), "s": ("ADJ", "ADV"), "r": ("ADV",)}


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


def _singular(word: str) -> list[str]:
    out = [word]
    if word.endswith("ies") and len(word) > 4:
        out.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        out.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        out.append(word[:-1])
    if word.endswith("men"):
        out.append(word[:-3] + "man")
    if word == "people":
        out.append("person")
    return out


def _id_feature(text: str) -> str | None:
    t = text.strip()
    if t.startswith("attr:"):
        return t
    if t in LEXNAME_LABELS or re.fullmatch(r"(noun|verb|adj|adv)\.[A-Za-z]+", t):
        return f"lex:{t}"
    if re.fullmatch(r"[\w.'-]+\.[nvasr]\.\d\d", t):
        return f"syn:{t}"
    return None


def concept_ids(text: str) -> list[str]:
    """The concept ids a label of ours carries in parentheses, as features."""
    found: list[str] = []
    for wordnet, spacy in IDS.findall(text):
        for part in (wordnet or "").split("|"):
            f = _id_feature(part)
            if f:
                found.append(f)
        for part in (spacy or "").split("|"):
            if part.strip() in ENT_LABELS:
                found.append(f"ent:{part.strip()}")
    return list(dict.fromkeys(found))


@dataclass
class NamedConcepts:
    """Concepts a text names: by fixed names (lexicographer labels and aliases) or by WordNet lemmas from
    the workspace vocabulary, and how many of the text's content words those cover."""

    fixed: list[str] = field(default_factory=list)
    lemmas: list[str] = field(default_factory=list)
    covered: int = 0
    content: int = 0

    def read(self) -> list[str]:
        """Lemma matches count only when they cover at least half of the text's content words (and the
        matcher skips words after a determiner), so 'something vague about the vibe of the text' does not
        name the concept text.n.01."""
        trusted = self.content > 0 and 2 * self.covered >= self.content
        return list(dict.fromkeys(self.fixed + (self.lemmas if trusted else [])))


def _lookup(vocabulary: Mapping[str, str], phrase: list[str]) -> str | None:
    """The concept a phrase names, trying the singular of its last word too ('living things')."""
    for last in _singular(phrase[-1]):
        hit = vocabulary.get(" ".join([*phrase[:-1], last]))
        if hit:
            return hit
    return None


def _content_words(text: str) -> list[str]:
    return [w for w in WORD.findall(text) if len(w) >= 3 and w not in GENERIC and w not in STOP]


def named_concepts(text: str, vocabulary: Mapping[str, str] | None = None) -> NamedConcepts:
    """Concepts named in plain words: lexicographer-file labels and common names first, then (longest
    phrase first) WordNet noun lemmas from the workspace's concept vocabulary."""
    low = " " + re.sub(r"\s+", " ", text.lower()) + " "
    out = NamedConcepts(content=len(_content_words(low)))
    for lex, label in LEXNAME_LABELS.items():
        name = label.split(" (")[0].lower()
        if f" {name} " in low or f" {name}," in low:
            out.fixed.append(f"lex:{lex}")
            low = low.replace(name, " ")
    for lex, aliases in LEXNAME_ALIASES.items():
        for alias in sorted(aliases, key=len, reverse=True):
            if re.search(rf"\b{re.escape(alias)}\b", low):
                out.fixed.append(f"lex:{lex}")
                low = re.sub(rf"\b{re.escape(alias)}\b", " ", low)
    out.covered = out.content - len(_content_words(low))
    words = WORD.findall(low) if vocabulary else []
    i = 0
    while i < len(words):
        step = 1
        for n in (3, 2, 1):
            phrase = words[i : i + n]
            if len(phrase) < n or (n == 1 and (phrase[0] in GENERIC or phrase[0] in STOP or len(phrase[0]) < 3)):
                continue
            if i > 0 and words[i - 1] in DETERMINERS:
                break  # "the text", "a reader": one thing talked about, not a category named
            hit = _lookup(vocabulary or {}, phrase)
            if hit:
                out.lemmas.append(hit)
                out.covered += len(_content_words(" ".join(phrase)))
                step = n
                break
        i += step
    return out


def _compatible(pos_feature: str, concept: str) -> bool:
    """Can a token of this word class carry this concept? (lex:noun.* only on nouns and names, ...)"""
    pos = pos_feature.split(":", 1)[1]
    kind, _, value = concept.partition(":")
    if kind == "ent":
        return True
    if kind == "attr":
        return pos in ("ADJ", "ADV")
    if kind == "lex":
        return pos in POS_OF_WORD_CLASS.get(value.split(".")[0][0], ())
    return pos in POS_OF_WORD_CLASS.get(value.rsplit(".", 2)[1], ())


def _concept_rule(concepts: list[str], head: str | None, words: list[str], context: list[str]) -> Rule:
    concepts = concepts[:MAX_CONCEPTS]
    if head and not all(_compatible(head, c) for c in concepts):
        head = None
    extra = {head} if head else set()
    terms = [frozenset({c, *extra, *context}) for c in concepts]
    terms += [frozenset({f"tok:{w}", *context}) for w in words]
    return Rule(terms)


def rule_from_text(text: str, vocabulary: Mapping[str, str] | None = None) -> Rule | None:
    """'The word 'the' after 'of'' -> tok:the AND prev:of; 'Determiners and articles' -> class:determiner;
    'Animals and other living things' -> lex:noun.animal OR syn:living_thing.n.01 (the second needs the
    workspace vocabulary). Returns None when the text names nothing we can check exactly."""
    context: list[str] = []
    rest = EXAMPLES.sub("", text)  # "..., e.g. fish, frog" lists members, it does not define the rule
    for word, kind in (("after", "prev"), ("before", "next")):
        for m in re.finditer(rf"{word}\s+(?:'([^']*)'|\"([^\"]*)\")", rest):
            context.append(f"{kind}:{(m.group(1) or m.group(2) or '').strip().lower()}")
        rest = re.sub(rf"{word}\s+(?:'[^']*'|\"[^\"]*\")", " ", rest)
    cats = _category_features(IDS.sub(" ", rest))
    named_as = re.search(r"\bas (nouns|names|verbs|adjectives|adverbs)\b", rest.lower())
    head = next((f"pos:{p}" for p, w in POS_PLURAL.items() if named_as and w == named_as.group(1)), None)
    named = [c for c in cats if c.startswith("pos:")]  # "Proper nouns" also contains "nouns": take the longer
    head = head or max(named, key=lambda c: len(POS_LABELS[c[4:]].split(" (")[0]), default=None)
    ids = concept_ids(rest)
    quoted = [(a or b).strip().lower() for a, b in QUOTED.findall(IDS.sub(" ", rest))]
    if ids:
        return _concept_rule(ids, head, list(dict.fromkeys(quoted)), context)
    if quoted:
        terms = [frozenset({f"tok:{q}", *context}) for q in dict.fromkeys(quoted)]
        return Rule(terms)
    concepts = named_concepts(rest, vocabulary).read()
    concepts += [c for c in cats if c.startswith("ent:") and c not in concepts]
    if concepts:
        return _concept_rule(concepts, head, [], context)
    if cats:
        return Rule([frozenset({cats[0], *context})])
    if context:
        return Rule([frozenset(context)])
    return None


def rule_text(rule: Rule) -> str:
    """How a rule reads back to a person: 'lex:noun.animal OR syn:living_thing.n.01', 'pos:VERB AND ...'."""
    return " OR ".join(" AND ".join(sorted(t, key=lambda f: (is_concept(f), f))) for t in rule.terms) or "(nothing)"
