"""Page data helpers: chip blocks, regeneration feedback, the score breakdown and workspace labels."""

from __future__ import annotations

import asyncio

from autointerp.config import BuildConfig
from autointerp.records import SentenceRow, Status
from autointerp.ui.browse import regenerate_message, score_breakdown, workspace_labels
from autointerp.ui.chips import segments
from autointerp.ui.export import analysis_html


def row(i: int, tok: str) -> SentenceRow:
    return SentenceRow(i, i, tok, 0, "", 0.0, 0.0, 0.0, 0.0, 1, 0.0)


def test_segments_break_at_sentence_ends_and_newlines_and_keep_every_token():
    toks = [" A", " cat", " sat", "."] * 6 + ["\n", "Next", " line", "!"] + ["x"] * 130
    rows = [row(i, t) for i, t in enumerate(toks)]
    blocks = segments(rows, min_len=12, max_len=60)
    assert [r.position for b in blocks for r in b] == list(range(len(rows)))  # nothing lost, order kept
    assert blocks[0][-1].token_str == "." and len(blocks[0]) == 12  # the first sentence end after 12 tokens
    assert any(b[-1].token_str == "\n" for b in blocks)
    assert max(len(b) for b in blocks) == 60  # a text with no sentence ends is still cut into blocks


def test_a_decimal_point_ends_no_sentence_on_the_page_or_in_the_export():
    toks = ["Shares", " of", " the", " company", " in", " the", " index", " of", " the", " market", " rose", " 4"]
    toks += [".", "5", "%", " to", " a", " record", ".", " Then", " it", " fell", "."]
    rows = [row(i, t) for i, t in enumerate(toks)]
    blocks = segments(rows)
    assert [b[-1].token_str for b in blocks] == [".", "."] and blocks[0][-1].position == 18  # after "record."
    html = analysis_html(rows)
    assert html.count('class="ai-chips"') == len(blocks)  # the export draws the page's blocks, not its own


def test_regenerate_says_when_nothing_changed(tiny_interp):
    first = asyncio.run(tiny_interp.get_or_generate_explanation(0))
    again = asyncio.run(tiny_interp.get_or_generate_explanation(0, force_regenerate=True))
    changed, message = regenerate_message(first, again)
    assert not changed and "same explanation and confidence" in message  # the offline explainer is deterministic
    edited = asyncio.run(tiny_interp.edit_explanation(0, "Determiners and articles"))
    changed, message = regenerate_message(edited, again)
    assert changed and "Determiners and articles" in message and "→" in message
    assert regenerate_message(None, again)[0]


def test_score_breakdown_is_two_columns(tiny_interp):
    e = asyncio.run(tiny_interp.get_or_generate_explanation(1))
    rows = score_breakdown(e)
    assert all(set(r) == {"measure", "value"} and isinstance(r["value"], str) for r in rows)
    assert {"balanced accuracy", "95% CI", "members", "read as rule"} <= {r["measure"] for r in rows}
    assert e.status is Status.SCORED or e.status is Status.INSUFFICIENT_DATA


def test_workspace_labels_fit_the_sidebar_and_keep_what_differs():
    name = BuildConfig().folder_name()
    assert workspace_labels([name, "my-own-folder"]) == {name: "L12 residual · k256", "my-own-folder": "my-own-folder"}
    other_layer = BuildConfig(layer=6).folder_name()
    assert workspace_labels([name, other_layer])[other_layer] == "L6 residual · k256"
    other_corpus = BuildConfig(corpus="notes.txt").folder_name()  # same layer, site and k: told by fingerprint
    labels = workspace_labels([name, other_corpus])
    assert labels[name] != labels[other_corpus] and labels[name].startswith("L12 residual · k256 · ")
    other_model = BuildConfig(model="gpt2").folder_name()
    assert workspace_labels([name, other_model])[other_model] == "L12 residual · k256 · gpt2"
    assert all(len(label) <= 30 for label in workspace_labels([name, other_layer, other_corpus]).values())
