"""Turning stored token windows back into strings, contexts and features."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from autointerp.data.concepts import SplitConcepts
from autointerp.data.corpus import PAD
from autointerp.explain.features import Feature, tag_features, token_features
from autointerp.records import ValidationExample


class TokenTexts:
    """Decodes one split's windows; token strings are cached because the same ids recur constantly."""

    def __init__(
        self,
        windows: np.ndarray,
        tokenizer: Any,
        tags: np.ndarray | None = None,
        concepts: SplitConcepts | None = None,
    ):
        self.windows = windows
        self.tokenizer = tokenizer
        self.tags = tags  # optional (2, n_windows, width) POS and entity codes, see linguistic.py
        self.concepts = concepts  # optional per-token concept codes and their table, see build/concepts.py
        self._strings: dict[int, str] = {}  # bounded by the vocabulary
        self._table: np.ndarray | None = None  # token id -> string for every id in the windows, built on first use
        self._lengths: np.ndarray | None = None
        # A window's ids, token strings and text; a centroid's top examples are asked for again and again.
        self.decoded = lru_cache(maxsize=4096)(self._decode_window)
        self._concepts_by_code: dict[int, frozenset[Feature]] = {}  # bounded by the concept table

    def token_str(self, token_id: int) -> str:
        token_id = int(token_id)
        s = self._strings.get(token_id)
        if s is None:
            s = self._strings[token_id] = self.tokenizer.decode([token_id])
        return s

    def _window_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Every window token's string in one object array, and each window's length: decoding a window is
        then two numpy gathers, which keeps a top-10 examples query near 50 µs (per-token lookups took 250)."""
        if self._table is None or self._lengths is None:
            ids = np.unique(self.windows)
            ids = ids[ids != PAD]
            table = np.empty(int(ids.max()) + 1 if len(ids) else 1, dtype=object)
            table[ids] = [self.token_str(t) for t in ids.tolist()]
            self._lengths = (np.asarray(self.windows) != PAD).sum(1)
            self._table = table
        return self._table, self._lengths

    def window_ids(self, window: int) -> list[int]:
        row = self.windows[int(window)]
        return row[row != PAD].tolist()

    def features(self, window: int, pos: int) -> set[Feature]:
        _, strings, _ = self.decoded(int(window))
        prev = strings[pos - 1] if pos > 0 else None
        nxt = strings[pos + 1] if pos + 1 < len(strings) else None
        feats = token_features(strings[pos], prev, nxt, pos)
        if self.tags is not None:
            feats |= tag_features(int(self.tags[0, window, pos]), int(self.tags[1, window, pos]))
        if self.concepts is not None:
            feats |= self._concept_features(int(self.concepts.codes[window, pos]))
        return feats

    def _concept_features(self, code: int) -> frozenset[Feature]:
        got = self._concepts_by_code.get(code)
        if got is None:
            assert self.concepts is not None
            got = self._concepts_by_code[code] = frozenset(Feature(f) for f in self.concepts.table.features_of(code))
        return got

    def context(self, window: int, pos: int, radius: int = 12) -> tuple[str, str, str]:
        ids = self.window_ids(window)
        lo, hi = max(0, pos - radius), min(len(ids), pos + radius + 1)
        left = "".join(self.token_str(t) for t in ids[lo:pos])
        right = "".join(self.token_str(t) for t in ids[pos + 1 : hi])
        return left, self.token_str(ids[pos]), right

    def highlighted(self, window: int, pos: int, radius: int = 12) -> str:
        left, tok, right = self.context(window, pos, radius)
        return f"{left}<<{tok}>>{right}"

    def _decode_window(self, window: int) -> tuple[list[int], list[str], str]:
        """Two numpy gathers: the window's ids and, through the table, their strings."""
        table, lengths = self._window_table()
        row = np.asarray(self.windows[window][: lengths[window]])
        strings = table[row].tolist()
        return row.tolist(), strings, "".join(strings)

    def example(self, window: int, pos: int, activation: float) -> ValidationExample:
        ids, strings, text = self.decoded(int(window))
        return ValidationExample(
            text=text,
            tokens=list(ids),
            token_strings=list(strings),
            activation=float(activation),
            token_position=int(pos),
        )
