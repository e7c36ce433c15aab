import json

import pytest

from autointerp.data.corpus import clean_wikitext, make_windows, read_corpus, read_embedded_wiki, split_of
from autointerp.errors import CorpusError

WIKI = """{{Infobox person|name=X}}
'''Aristotle''' was a [[Ancient Greece|Greek]] philosopher and polymath during the \
[[Classical Greece|Classical]] period.<ref>Smith 2001</ref> He founded the school.
== Life ==
* a list item that should go
[[File:Aristotle.jpg|thumb|A bust]]
{| class="wikitable"
| cell || cell
|}
Short line.
"""


def test_clean_wikitext_keeps_prose_only():
    paras = clean_wikitext(WIKI)
    assert paras == [
        "Aristotle was a Greek philosopher and polymath during the Classical period. He founded the school."
    ]


def test_embedded_wiki_is_real_prose():
    docs = read_embedded_wiki()
    assert len(docs) > 3000
    assert all(d.source.startswith("https://en.wikipedia.org/wiki/") for d in docs[:50])
    assert not any("{{" in d.text or "[[" in d.text for d in docs)


def test_txt_jsonl_csv(tmp_path):
    (tmp_path / "a.txt").write_text("First doc here.\n\nSecond doc here.")
    assert [d.text for d in read_corpus(str(tmp_path / "a.txt"))] == ["First doc here.", "Second doc here."]
    (tmp_path / "b.jsonl").write_text("\n".join(json.dumps({"body": t}) for t in ["x y", "z w"]))
    assert [d.text for d in read_corpus(str(tmp_path / "b.jsonl"), "body")] == ["x y", "z w"]
    (tmp_path / "c.csv").write_text("id,text\n1,hello there\n2,general kenobi\n")
    assert [d.text for d in read_corpus(str(tmp_path / "c.csv"))] == ["hello there", "general kenobi"]


def test_unreadable_corpora_get_clear_errors(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        read_corpus(str(tmp_path / "missing.txt"))
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(CorpusError, match="UTF-8"):
        read_corpus(str(tmp_path / "bin.txt"))
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\nnot json\n')
    with pytest.raises(CorpusError, match="line 2"):
        read_corpus(str(tmp_path / "bad.jsonl"))
    (tmp_path / "c.csv").write_text("a,b\n1,2\n")
    with pytest.raises(CorpusError, match="no column"):
        read_corpus(str(tmp_path / "c.csv"))
    (tmp_path / "empty.txt").write_text("   \n\n  ")
    with pytest.raises(CorpusError, match="no text"):
        read_corpus(str(tmp_path / "empty.txt"))


def test_split_is_deterministic_and_windows_respect_budgets(tiny_model):
    assert split_of("hello", 0) == split_of("hello", 0)
    docs = read_embedded_wiki()[:400]
    budgets = {"train": 2000, "val": 800, "heldout": 600}
    a = make_windows(docs, tiny_model.tokenizer, 32, budgets, seed=0)
    b = make_windows(docs, tiny_model.tokenizer, 32, budgets, seed=0)
    assert a["val"].windows == b["val"].windows
    for s, w in a.items():
        assert budgets[s] <= w.n_tokens < budgets[s] + 32
        assert all(len(x) <= 32 for x in w.windows)
    texts = {s: {docs[i].text for i in a[s].doc_ids} for s in a}
    assert not texts["train"] & texts["heldout"] and not texts["val"] & texts["heldout"]
