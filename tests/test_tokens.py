"""How tokens are shown: a byte piece of a character never shows as "\ufffd", and whitespace is visible, in every
view that shows a sentence's tokens (chips, hover, table, CSV, the CLI table, summaries)."""

from __future__ import annotations

import asyncio

from autointerp.analysis.meta import interpret
from autointerp.cli import format_table
from autointerp.tokens import REPLACEMENT, token_bytes, token_label, token_texts, visible
from autointerp.ui.browse import table_rows
from autointerp.ui.chips import token_chips_html

TEXT = "I love 😀 and 東京 ok"


def test_byte_pieces_show_the_character_they_complete_or_their_bytes(tiny_model):
    tok = tiny_model.tokenizer
    ids = tok(TEXT, add_special_tokens=False)["input_ids"]
    alone = [tok.decode([i]) for i in ids]
    assert sum(REPLACEMENT in a for a in alone) >= 3  # the tokenizer does split these characters into bytes
    shown = token_texts(tok, ids)
    assert len(shown) == len(ids) and not any(REPLACEMENT in s for s in shown)
    assert any(s.endswith("😀") for s in shown) and any("東" in s for s in shown) and any("京" in s for s in shown)
    assert "<0xF0>" in "".join(shown)  # the first piece of the emoji completes nothing: its bytes
    # whole tokens are exactly their own decoding
    assert [s for s, a in zip(shown, alone, strict=True) if REPLACEMENT not in a] == [
        a for a in alone if REPLACEMENT not in a
    ]
    first = ids[next(i for i, a in enumerate(alone) if REPLACEMENT in a)]
    assert token_label(tok, first) == visible_bytes(token_bytes(tok, first))


def visible_bytes(data: bytes | None) -> str:
    assert data is not None
    prefix = data.decode("utf-8", errors="ignore")  # a leading space, say
    return prefix + "".join(f"<0x{b:02X}>" for b in data[len(prefix.encode()) :])


def test_whitespace_is_visible():
    assert visible(" the") == "·the" and visible("\n") == "↵" and visible("\t") == "→" and visible("") == "∅"


def test_every_view_of_a_sentence_shows_the_same_readable_tokens(tiny_interp):
    analysis = asyncio.run(tiny_interp.analyze(f"{TEXT}. The  end"))
    rows = analysis.rows
    assert not any(REPLACEMENT in r.token_str for r in rows)
    cells = [c["Token"] for c in table_rows(rows)]  # the dashboard table and its CSV
    assert "" not in cells and " " not in cells and any(c.endswith("😀") for c in cells)
    assert REPLACEMENT not in token_chips_html(rows)  # chips and hover cards
    assert REPLACEMENT not in format_table(rows)  # the CLI table
    meta = asyncio.run(interpret(analysis))
    assert REPLACEMENT not in meta and "''" not in meta
