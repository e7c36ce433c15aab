import pytest
import torch
from transformers import AutoModelForCausalLM

from autointerp.core.activations import iter_activations, layer_activations
from autointerp.core.models import check_layer_and_site, load_model, sink_token_id
from autointerp.errors import InputError, ModelLoadError


def test_unknown_model_gets_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(str(tmp_path / "no-such-model"))
    with pytest.raises(ModelLoadError, match="could not load model"):
        load_model("no-such-org/no-such-model-xyz")


def test_unknown_layer_and_site(tiny_model):
    with pytest.raises(InputError, match="out of range"):
        check_layer_and_site(tiny_model, 4, "layer_output")
    with pytest.raises(InputError, match="unknown site"):
        check_layer_and_site(tiny_model, 1, "resid_mid")


@pytest.mark.parametrize("layer", [0, 2])
def test_early_stop_equals_full_forward(tiny_model, tiny_model_dir, layer):
    hf = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    ids = torch.tensor([[5, 17, 42, 99, 7]])
    mask = torch.ones_like(ids)
    ours = layer_activations(tiny_model, ids, mask, layer, "layer_output")
    with torch.no_grad():
        ref = hf(ids, attention_mask=mask, output_hidden_states=True).hidden_states[layer + 1]
    assert torch.allclose(ours, ref, atol=1e-5)


def test_sites_decompose_the_residual(tiny_model):
    ids = torch.tensor([[5, 17, 42, 99]])
    mask = torch.ones_like(ids)
    out1 = layer_activations(tiny_model, ids, mask, 1, "layer_output")
    out0 = layer_activations(tiny_model, ids, mask, 0, "layer_output")
    attn = layer_activations(tiny_model, ids, mask, 1, "attention_output")
    mlp = layer_activations(tiny_model, ids, mask, 1, "mlp_output")
    assert torch.allclose(out0 + attn + mlp, out1, atol=1e-4)


def test_batching_and_padding_never_reach_the_data(tiny_model):
    sink = sink_token_id(tiny_model.tokenizer)
    windows = [[5, 6, 7, 8, 9, 10], [11, 12, 13], [14, 15, 16, 17]]
    batched = list(iter_activations(tiny_model, windows, 2, "layer_output", sink, batch_tokens=10_000))
    assert len(batched) == 1
    b = batched[0]
    assert len(b.acts) == sum(map(len, windows))
    assert b.token_ids.tolist() == [t for w in windows for t in w]
    for i, w in enumerate(windows):
        alone = next(iter_activations(tiny_model, [w], 2, "layer_output", sink)).acts
        assert torch.allclose(b.acts[b.window_ids == i], alone, atol=1e-4)
        assert b.positions[b.window_ids == i].tolist() == list(range(len(w)))
    small = list(iter_activations(tiny_model, windows, 2, "layer_output", sink, batch_tokens=8))
    assert len(small) == 3


def test_gguf_conversion_reports_each_tensor():
    """The first launch shows the conversion's own progress by standing in for the tqdm that transformers
    wraps around the GGUF tensors; this fails loudly if transformers stops doing that."""
    import inspect

    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    from autointerp.core.models import _gguf_tensor_progress  # the hook itself is under test

    assert "tqdm(reader.tensors" in inspect.getsource(gguf_utils.load_gguf_checkpoint)
    seen: list[tuple[int, int]] = []
    original = gguf_utils.tqdm
    with _gguf_tensor_progress(lambda i, n: seen.append((i, n))):
        items = list(gguf_utils.tqdm(["a", "b", "c"], desc="Converting and de-quantizing GGUF tensors..."))
    assert items == ["a", "b", "c"] and seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert gguf_utils.tqdm is original  # put back afterwards


def test_gguf_is_parsed_once_per_conversion():
    """transformers reads the embedded GGUF three times and rebuilds gguf's name map per tensor; within a
    conversion both are shared (and put back afterwards). Fails if transformers stops finding them in `gguf`."""
    import importlib.util
    import inspect

    import gguf
    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    from autointerp.core.models import GGUF_FILE, GGUF_PACKAGE, _gguf_parsed_once  # the hook is under test

    source = inspect.getsource(gguf_utils)
    assert "from gguf import GGUFReader" in source and "get_tensor_name_map" in source
    path = importlib.util.find_spec(GGUF_PACKAGE).submodule_search_locations[0] + "/" + GGUF_FILE
    reader, name_map = gguf.GGUFReader, gguf.get_tensor_name_map
    with _gguf_parsed_once():
        first = gguf.GGUFReader(path)
        assert gguf.GGUFReader(path) is first  # parsed once
        arch = next(k for k, v in gguf.MODEL_ARCH_NAMES.items() if v == "llama")
        assert gguf.get_tensor_name_map(arch, 30) is gguf.get_tensor_name_map(arch, 30)
        assert len(first.tensors) == 272  # the real file: 30 layers of 9 tensors, embeddings and final norm
    assert gguf.GGUFReader is reader and gguf.get_tensor_name_map is name_map


def test_concurrent_traces_on_one_model_wait_for_each_other(tiny_model):
    """A dashboard shares one model between sessions; nnsight refuses a trace while another runs on it."""
    from concurrent.futures import ThreadPoolExecutor

    ids = torch.randint(0, 200, (2, 12))
    mask = torch.ones_like(ids)
    expected = layer_activations(tiny_model, ids, mask, 2, "layer_output")
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: layer_activations(tiny_model, ids, mask, 2, "layer_output"), range(24)))
    assert all(torch.equal(r, expected) for r in results)


def test_the_embedded_conversion_logs_no_warning(tmp_path, monkeypatch):
    """The first start converted with the weights left packed, and transformers warned that bf16 is slow for
    packed weights (which we never run). The conversion asks for dense weights instead; it warns of nothing."""
    import logging

    from transformers.utils import logging as hf_logging

    from autointerp.core.models import embedded_model_dir

    monkeypatch.setenv("AUTOINTERP_CACHE", str(tmp_path))
    warnings: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                warnings.append(record.getMessage())

    handler = Keep()
    hf_logging.get_logger().addHandler(handler)  # transformers' root logger, which does not propagate
    try:
        folder = embedded_model_dir()
    finally:
        hf_logging.get_logger().removeHandler(handler)
    assert (folder / "model.safetensors").exists()
    assert warnings == []
