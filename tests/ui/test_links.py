"""Shareable views: what an address holds, read leniently and written completely."""

from autointerp.ui import links


def test_sentence_view_round_trip_and_lenient_reading():
    params = links.sentence_params("The cat sat.", "ws-1", 3, layer="6")
    assert params == {"text": "The cat sat.", "workspace": "ws-1", "layer": "6", "token": "3"}
    view = links.read_sentence_view(params)
    assert (view.text, view.workspace, view.token, view.layer, view.problems) == ("The cat sat.", "ws-1", 3, "6", ())
    bad = links.read_sentence_view({"text": "x", "token": "three"})
    assert bad.token is None and "not a number" in bad.problems[0]
    assert links.read_sentence_view({"token": "-2"}).token is None


def test_long_text_stays_out_of_the_link_and_takes_its_token_along():
    long = "word " * links.MAX_LINK_TEXT
    params = links.sentence_params(long, "ws", 5)
    assert params == {"workspace": "ws"}  # a token without its text would point nowhere


def test_centroid_link():
    assert links.read_centroid({"centroid": "7"}, 8) == (7, "")
    cid, problem = links.read_centroid({"centroid": "8"}, 8)
    assert cid is None and "0..7" in problem
    assert links.read_centroid({}, 8) == (None, "")
