"""Plain-English names of semantic concept features, for labels and for reading labels back into rules.

Concept features (computed at build time, see build/concepts.py):
- `lex:<lexname>`: a WordNet 3.0 lexicographer file, e.g. lex:noun.animal;
- `syn:<synset>`: a WordNet synset on the word's first-sense hypernym path, e.g. syn:living_thing.n.01;
- `attr:<synset>`: for adjectives and adverbs, the noun they describe or pertain to, and its hypernyms
  (large -> attr:size.n.01, attr:magnitude.n.01);
- `ent:<TYPE>`: a spaCy entity type, e.g. ent:GPE (from the linguistic tags).
Nothing here reads WordNet: names come from the feature string itself.
"""

from __future__ import annotations

from autointerp.explain.features import ENT_LABELS, POS_LABELS

CONCEPT_KINDS = ("lex:", "syn:", "attr:", "ent:")
LEXNAME_LABELS = {
    "noun.act": "Acts and actions",
    "noun.animal": "Animals",
    "noun.artifact": "Man-made objects",
    "noun.attribute": "Attributes and qualities",
    "noun.body": "Body parts",
    "noun.cognition": "Knowledge and ideas",
    "noun.communication": "Communication: language, texts and messages",
    "noun.event": "Events and happenings",
    "noun.feeling": "Feelings and emotions",
    "noun.food": "Food and drink",
    "noun.group": "Groups and organisations",
    "noun.location": "Places and locations",
    "noun.motive": "Goals and motives",
    "noun.object": "Natural objects and landforms",
    "noun.person": "People and roles",
    "noun.phenomenon": "Natural phenomena",
    "noun.plant": "Plants",
    "noun.possession": "Possessions, money and transactions",
    "noun.process": "Natural processes",
    "noun.quantity": "Quantities and units",
    "noun.relation": "Relations",
    "noun.shape": "Shapes",
    "noun.state": "States and conditions",
    "noun.substance": "Substances and materials",
    "noun.time": "Times and periods",
    "verb.body": "Verbs of the body (grooming, dressing)",
    "verb.change": "Verbs of change",
    "verb.cognition": "Verbs of thinking and knowing",
    "verb.communication": "Verbs of communication (saying, telling, writing)",
    "verb.competition": "Verbs of competition and fighting",
    "verb.consumption": "Verbs of eating, drinking and using up",
    "verb.contact": "Verbs of touching and physical contact",
    "verb.creation": "Verbs of making and creating",
    "verb.emotion": "Verbs of feeling",
    "verb.motion": "Verbs of motion",
    "verb.perception": "Verbs of perception (seeing, hearing)",
    "verb.possession": "Verbs of having and transfer",
    "verb.social": "Verbs of social activity",
    "verb.stative": "Verbs of being and staying",
    "verb.weather": "Weather verbs",
    "adj.pert": "Relational adjectives (of or relating to a noun)",
    "adj.ppl": "Participial adjectives",
}
# What people write for a lexicographer file, beyond its label (read by explainers/parse.py).
LEXNAME_ALIASES = {
    "noun.animal": ("animal", "animals", "creature", "creatures", "fauna"),
    "noun.plant": ("plant", "plants", "flora", "vegetation"),
    "noun.person": ("people", "person", "persons", "role", "roles", "human", "humans", "occupations", "professions"),
    "noun.location": ("place", "places", "location", "locations"),
    "noun.food": ("food", "foods", "drink", "drinks"),
    "noun.body": ("body part", "body parts"),
    "noun.feeling": ("feeling", "feelings", "emotion", "emotions"),
    "noun.artifact": ("artifact", "artifacts", "artefact", "artefacts", "man-made objects"),
    "noun.time": ("time period", "time periods", "periods of time"),
    "noun.communication": ("communication",),
    "noun.cognition": ("knowledge", "ideas", "cognition"),
    "noun.substance": ("substance", "substances", "materials"),
    "noun.group": ("groups", "organisations", "organizations"),
    "noun.act": ("acts", "actions"),
    "noun.event": ("events",),
    "noun.quantity": ("quantities", "units of measure", "units"),
    "noun.shape": ("shapes",),
    "noun.possession": ("possessions", "money"),
    "verb.motion": ("motion", "movement", "moving"),
    "verb.communication": ("saying", "speaking", "telling"),
    "verb.perception": ("perception", "seeing", "hearing"),
    "verb.cognition": ("thinking",),
    "verb.creation": ("making", "creating", "creation"),
    "verb.consumption": ("eating", "drinking"),
    "verb.competition": ("fighting", "competition"),
    "verb.change": ("change",),
}
SHARED_PREFIXES = ("Describing ", "Ways to ", "Verbs of ", "Words meaning ")
POS_PLURAL = {"NOUN": "nouns", "PROPN": "names", "VERB": "verbs", "ADJ": "adjectives", "ADV": "adverbs"}


def is_concept(feature: str) -> bool:
    return feature.startswith(CONCEPT_KINDS)


IRREGULAR = {
    "person": "people",
    "child": "children",
    "phenomenon": "phenomena",
    "criterion": "criteria",
    "datum": "data",
    "medium": "media",
    "foot": "feet",
    "tooth": "teeth",
    "mouse": "mice",
    "leaf": "leaves",
    "life": "lives",
    "wife": "wives",
    "knife": "knives",
    "half": "halves",
    "wolf": "wolves",
    "shelf": "shelves",
    "thief": "thieves",
    "calf": "calves",
    "self": "selves",
    "genus": "genera",
    "fungus": "fungi",
    "alga": "algae",
}
# Mass nouns among the synsets clusters meet most often: their plural reads wrong ("matters", "cognitions").
UNCOUNTABLE = frozenset(
    "matter cognition communication knowledge information content behavior behaviour time space stuff food "  # noqa: SIM905
    "water air art music research evidence equipment furniture software clothing money news weather land health "
    "education science literature language speech writing power energy heat light motion change society culture "
    "religion law government history physics chemistry biology mathematics medicine technology economics "
    "politics commerce transportation agriculture industry wealth property".split()
)


def pluralise(phrase: str) -> str:
    """English plural of the last word: 'living thing' -> 'living things', 'city' -> 'cities'; mass nouns
    stay as they are ('matter')."""
    head, _, last = phrase.rpartition(" ")
    if last in UNCOUNTABLE or not last.isalpha():
        pass
    elif last in IRREGULAR:
        last = IRREGULAR[last]
    elif last.endswith("is") and len(last) > 3:
        last = last[:-2] + "es"  # analysis -> analyses
    elif last.endswith(("s", "x", "z", "ch", "sh")):
        last += "es"
    elif last.endswith("y") and len(last) > 1 and last[-2] not in "aeiou":
        last = last[:-1] + "ies"
    elif last.endswith("man") and last not in ("human", "german", "roman"):
        last = last[:-3] + "men"
    else:
        last += "s"
    return f"{head} {last}" if head else last


def synset_parts(name: str) -> tuple[str, str]:
    """'living_thing.n.01' -> ('living thing', 'n')."""
    lemma, pos, _ = name.rsplit(".", 2)
    return lemma.replace("_", " "), pos


def concept_name(feature: str) -> str:
    """Plain English: lex:noun.person -> 'People and roles', syn:living_thing.n.01 -> 'Living things'."""
    kind, _, value = feature.partition(":")
    if kind == "lex":
        return LEXNAME_LABELS.get(value, value)
    if kind == "ent":
        return ENT_LABELS.get(value, value)
    if kind == "attr":
        return f"Describing {synset_parts(value)[0]}"
    if kind == "syn":
        lemma, pos = synset_parts(value)
        if pos == "n":
            text = pluralise(lemma)
        elif pos == "v":
            text = f"ways to {lemma}"
        else:
            text = f"words meaning {lemma}"
        return text[0].upper() + text[1:]
    return feature


def concept_id(feature: str) -> str:
    """Where the concept comes from, short: 'WordNet noun.person', 'WordNet attr:size.n.01', 'spaCy entity GPE'."""
    kind, _, value = feature.partition(":")
    if kind == "ent":
        return f"spaCy entity {value}"
    return f"WordNet {feature if kind == 'attr' else value}"


def concept_names(features: list[str]) -> str:
    """The plain-English part: 'Animals or plants'; a name two ids share is said once (noun.animal, animal.n.01)."""
    names = list({concept_name(f).lower(): concept_name(f) for f in features}.values())
    for prefix in SHARED_PREFIXES:  # "Describing magnitude, degree or temporal property"
        if len(names) > 1 and all(n.startswith(prefix) for n in names):
            return prefix + _either([n[len(prefix) :] for n in names])
    return _either([names[0]] + [n[0].lower() + n[1:] for n in names[1:]])


def _either(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def concept_label(features: list[str], head: str | None = None) -> str:
    """A concept rule's label: plain English first, then the concept ids.

    ["syn:living_thing.n.01"] -> "Living things (WordNet living_thing.n.01)";
    ["lex:noun.animal", "lex:noun.plant"] -> "Animals or plants (WordNet noun.animal | noun.plant)";
    head "pos:PROPN" narrows it: "Cities, as names (WordNet city.n.01)"."""
    text = concept_names(features)
    if head is not None:
        kind, _, value = head.partition(":")
        if kind == "pos" and value in POS_PLURAL:
            text += f", as {POS_PLURAL[value]}"
        elif kind == "pos":
            text += f", as {POS_LABELS.get(value, value).lower()}"
    wordnet = [f if f.startswith("attr:") else f.partition(":")[2] for f in features if not f.startswith("ent:")]
    spacy = [f.partition(":")[2] for f in features if f.startswith("ent:")]
    ids = []
    if wordnet:
        ids.append("WordNet " + " | ".join(wordnet))
    if spacy:
        ids.append("spaCy entity " + " | ".join(spacy))
    return f"{text} ({'; '.join(ids)})"
