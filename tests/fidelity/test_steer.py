"""Steering a tiny random Llama: strength 0 is plain greedy generation, bad input is one clear error."""

from __future__ import annotations

import pytest
import torch

from autointerp.errors import InputError
from autointerp.fidelity.output_side import CentroidGeometry
from autointerp.fidelity.steer import MAX_PROMPT_TOKENS, SteerCache, SteerRequest, steer

PROMPT = "The cat sat on the"


def _geometry() -> CentroidGeometry:
    g = torch.Generator().manual_seed(1)
    c = torch.nn.functional.normalize(torch.randn(4, 64, generator=g), dim=-1)
    return CentroidGeometry.of(c, torch.zeros(64), "cosine", 5.0)


def test_strength_zero_equals_plain_hf_generate(tiny_model):
    result = steer(tiny_model, 2, "layer_output", _geometry(), SteerRequest(1, 0.0, PROMPT, 12), sink=0)
    tok = tiny_model.tokenizer
    ids = torch.tensor([[0, *tok(PROMPT, add_special_tokens=False)["input_ids"]]])
    with torch.no_grad():
        out = tiny_model._model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=12, do_sample=False, pad_token_id=1
        )
    expected = tok.decode(out[0, ids.shape[1] :].tolist())
    assert result.plain == expected and result.steered == expected
    assert result.prompt_tokens == ids.shape[1]


def test_a_strong_push_changes_the_continuation(tiny_model):
    geo = _geometry()
    results = [steer(tiny_model, 1, "layer_output", geo, SteerRequest(c, 15.0, PROMPT, 10), 0) for c in range(4)]
    assert any(r.steered != r.plain for r in results)
    assert len({r.plain for r in results}) == 1  # the unsteered text does not depend on the centroid
    assert results[0].alpha == pytest.approx(75.0)


@pytest.mark.parametrize(
    "req, message",
    [
        (SteerRequest(0, 1.0, "   "), "type a prompt"),
        (SteerRequest(0, 1.0, "word " * (MAX_PROMPT_TOKENS + 5)), "tokens long"),
        (SteerRequest(9, 1.0, PROMPT), "out of range"),
        (SteerRequest(0, float("nan"), PROMPT), "strength"),
        (SteerRequest(0, 1.0, PROMPT, 31), "new tokens"),
    ],
)
def test_bad_input_is_one_clear_line(tiny_model, req, message):
    with pytest.raises(InputError, match=message) as err:
        steer(tiny_model, 1, "layer_output", _geometry(), req, 0)
    assert "\n" not in str(err.value)


def test_the_same_request_is_never_generated_twice(tiny_model):
    cache, geo = SteerCache(), _geometry()
    a = cache.get(tiny_model, 1, "layer_output", geo, SteerRequest(2, 3.0, PROMPT, 5), 0)
    b = cache.get(tiny_model, 1, "layer_output", geo, SteerRequest(2, 3.0, PROMPT, 5), 0)
    assert a is b and cache.computed == 1
    cache.get(tiny_model, 1, "layer_output", geo, SteerRequest(2, 4.0, PROMPT, 5), 0)
    assert cache.computed == 2
