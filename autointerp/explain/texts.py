"""Turning stored token windows back into strings, contexts and features."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from autointerp.build.concepts import SplitConcepts
from autointerp.build.corpus import PAD
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
        self._decode = lru_cache(maxsize=200_000)(self._decode_one)

    def _decode_one(self, token_id: int) -> str:
        return self.tokenizer.decode([int(token_id)])

    def token_str(self, token_id: int) -> str:
        return self._decode(int(token_id))

    def window_ids(self, window: int) -> list[int]:
        row = self.windows[int(window)]
        return [int(t) for t in row if t != PAD]

    def features(self, window: int, pos: int) -> set[Feature]:
        ids = self.window_ids(window)
        tok = self.token_str(ids[pos])
        prev = self.token_str(ids[pos - 1]) if pos > 0 else None
        nxt = self.token_str(ids[pos + 1]) if pos + 1 < len(ids) else None
        feats = token_features(tok, prev, nxt, pos)
        if self.tags is not None:
            feats |= tag_features(int(self.tags[0, window, pos]), int(self.tags[1, window, pos]))
        if self.concepts is not None:
            feats |= {Feature(f) for f in self.concepts.features(window, pos)}
        return feats

    def context(self, window: int, pos: int, radius: int = 12) -> tuple[str, str, str]:
        ids = self.window_ids(window)
        lo, hi = max(0, pos - radius), min(len(ids), pos + radius + 1)
        left = "".join(self.token_str(t) for t in ids[lo:pos])
        right = "".join(self.token_str(t) for t in ids[pos + 1 : hi])
        return left, self.token_str(ids[pos]), right

    def highlighted(self, window: int, pos: int, radius: int = 12) -> str:
        left, tok, right = self.context(window, pos, radius)
        return f"{left}<<{tok}>>{right}"

    def example(self, window: int, pos: int, activation: float) -> ValidationExample:
        ids = self.window_ids(window)
        strings = [self.token_str(t) for t in ids]
        return ValidationExample(
            text="".join(strings),
            tokens=ids,
            token_strings=strings,
            activation=float(activation),
            token_position=int(pos),
        )
