"""Optional spaCy tags: aligned to model tokens when installed, cleanly absent when switched off."""

import numpy as np
import pytest

from autointerp.config import RunOptions
from autointerp.data.linguistic import ENT_TYPES, POS_TAGS, load_tagger
from autointerp.workspace import Workspace, build_workspace

pytest.importorskip("spacy")


def test_tags_align_with_model_tokens(tiny_workspace, tiny_model):
    ws = Workspace.open(tiny_workspace)
    assert ws.info.linguistic.startswith("spaCy") and ws.splits["val"].tags is not None
    tok = tiny_model.tokenizer
    seen = {}
    for w in range(len(ws.splits["val"].windows)):
        for p, t in enumerate(ws.splits["val"].windows[w]):
            if t < 0:
                break
            seen.setdefault(tok.decode([int(t)]).strip(), set()).add(POS_TAGS[ws.splits["val"].tags[0, w, p]])
    # the tiny tokenizer splits most words; check whole-word tokens
    assert seen["history"] == {"NOUN"} and "DET" in seen["The"] and seen["."] == {"PUNCT"}
    assert "ADP" in seen["of"] and "ADJ" in seen["large"]
    ents = {ENT_TYPES[e] for e in np.unique(ws.splits["val"].tags[1])}
    assert {"GPE", "DATE"} & ents  # Paris/London/Europe, 1969/March


def test_tag_features_reach_explanations(tiny_interp):
    feats = tiny_interp.validation.texts.features(0, 1)
    assert any(f.startswith("pos:") for f in feats)


def test_switched_off_leaves_no_tags(tiny_config, tiny_model, tmp_path):
    ws = Workspace.open(
        build_workspace(tiny_config.with_(pos_tags=False), tmp_path, options=RunOptions(model=tiny_model))
    )
    assert ws.splits["val"].tags is None and ws.info.linguistic == "off"
    assert load_tagger() is not None
