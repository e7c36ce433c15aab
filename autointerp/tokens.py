"""How a token is shown, in every view (chips, hover cards, tables, CSV, the CLI and summaries): one place.

Byte-level tokenizers split a character that takes several UTF-8 bytes (an emoji, most CJK) over several tokens;
decoded alone, each piece is "\ufffd". In a text, the piece that completes a character shows the whole
character, and a piece that completes none shows its bytes (`<0xF0><0x9F>`). Whitespace is made visible.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Sequence
from typing import Any

REPLACEMENT = "\ufffd"
_BYTE_TOKEN = re.compile(r"<0x([0-9A-Fa-f]{2})>")
# What a token's stripped string is, for the classes both the input rules and the output descriptions use
YEAR = re.compile(r"1[0-9]{3}|20[0-9]{2}")  # fullmatch
NUMBER = re.compile(r"[0-9][0-9.,]*")  # fullmatch
ALNUM = re.compile(r"[A-Za-z0-9]")  # search: no match means punctuation or symbols only


def visible(tok: str) -> str:
    """Whitespace made visible: · for a space, ↵ for a newline, → for a tab; ∅ for an empty token."""
    return tok.replace(" ", "·").replace("\n", "↵").replace("\t", "→") or "∅"


def byte_labels(data: bytes) -> str:
    return "".join(f"<0x{b:02X}>" for b in data)


@functools.cache
def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet, reversed: the printable character each byte is spelled with -> the byte."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = list(printable)
    n = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


def token_bytes(tokenizer: Any, token_id: int) -> bytes | None:
    """The raw bytes a token stands for, from its vocabulary entry (byte-level BPE or `<0xNN>` byte fallback);
    None when the tokenizer spells its vocabulary some other way."""
    piece = tokenizer.convert_ids_to_tokens(int(token_id))
    if not isinstance(piece, str):
        return None
    if m := _BYTE_TOKEN.fullmatch(piece):
        return bytes.fromhex(m.group(1))
    table = _byte_decoder()
    if piece and all(c in table for c in piece):
        return bytes(table[c] for c in piece)
    return None


def token_texts(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    """Each token of a text as the views show it (before `visible`): its own decoding when that is whole, else
    the characters it completes with the pieces before it, and the bytes of what it leaves incomplete."""
    out: list[str] = []
    pending = codecs.getincrementaldecoder("utf-8")("replace")
    for t in ids:
        alone = tokenizer.decode([int(t)])
        data = token_bytes(tokenizer, t) if REPLACEMENT in alone else None
        if data is None:
            pending.reset()  # a whole token: any piece still open before it stays shown as bytes
            out.append(alone)
            continue
        done = pending.decode(data)
        left = pending.getstate()[0]  # the bytes still waiting for the rest of their character
        mine = left[-len(data) :] if len(left) >= len(data) else left
        out.append(done + byte_labels(mine))
    return out


def token_label(tokenizer: Any, token_id: int) -> str:
    """One token out of context (a top-token list): whole, or its bytes where it is part of a character."""
    return token_texts(tokenizer, [token_id])[0]
