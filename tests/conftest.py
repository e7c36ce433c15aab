"""Shared fixtures: a tiny random Llama (built from a config in milliseconds) and small corpora."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import pytest
import torch

from autointerp.config import RunOptions

SENTENCES = [
    "The cat sat on the mat.",
    "A dog ran in the park, and the children laughed.",
    "In 1969, the Apollo 11 mission landed on the Moon.",
    "She quickly wrote three letters to her brother.",
    "If it rains tomorrow, we will stay at home.",
    "The history of science is largely a history of ideas.",
    "Paris and London are large cities in Europe.",
    "He was born in 1874 and died in 1952.",
    "They have been working on the project since March.",
    "Although the results were promising, more data is needed.",
]


@pytest.fixture(autouse=True)
def _search_loops_restored():
    """An AppTest runs app.py in this process, and the dashboard turns the compiled search loops off for
    its own process: each test starts with the library's default."""
    from autointerp.core import search

    before = search.KERNELS
    yield
    search.KERNELS = before


def corpus_lines(n: int = 300, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.sample(SENTENCES, 3)) for _ in range(n)]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-llama")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>", "<pad>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(SENTENCES * 20, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<pad>")
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=512,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=1,
        tie_word_embeddings=True,
    )
    LlamaForCausalLM(cfg).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path):
    from autointerp.core.models import load_model

    return load_model(str(tiny_model_dir), device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("\n\n".join(corpus_lines()), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_config(tiny_model_dir: Path, tiny_corpus: Path):
    from autointerp.config import BuildConfig

    return BuildConfig(
        model=str(tiny_model_dir),
        layer=2,
        k=8,
        corpus=str(tiny_corpus),
        window=32,
        train_tokens=3000,
        val_tokens=1500,
        heldout_tokens=1200,
        kmeans_iters=10,
        dtype="float32",
    )


@pytest.fixture(scope="session")
def tiny_workspace(tiny_config, tiny_model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from autointerp.workspace import build_workspace

    return build_workspace(tiny_config, tmp_path_factory.mktemp("ws"), options=RunOptions(model=tiny_model))


@pytest.fixture()
def tiny_interp(tiny_workspace: Path, tiny_model, tmp_path: Path):
    from autointerp import KMeansAutoInterp

    return KMeansAutoInterp.from_workspace(tiny_workspace, model=tiny_model, cache_dir=str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def tiny_stack(tiny_config, tiny_model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Layers 1, 2 and 3 of the tiny model built together (a stack folder beside three workspaces)."""
    from autointerp.stack.folder import build_stack

    stages: list[str] = []
    path = build_stack(
        tiny_config,
        [3, 1, 2],
        tmp_path_factory.mktemp("stack"),
        lambda s, d, t: stages.append(s),
        RunOptions(model=tiny_model),
    )
    assert stages.count("extract train activations") >= 1 and "lineage" in stages
    assert {f"fit k-means (layer {x})" for x in (1, 2, 3)} <= set(stages)  # one progress bar per layer's fit
    return path


@pytest.fixture(scope="session")
def real_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small workspace on the real embedded model and corpus (about 10 s once the model is converted)."""
    from autointerp.config import BuildConfig
    from autointerp.workspace import build_workspace

    cfg = BuildConfig(layer=6, k=24, train_tokens=8000, val_tokens=4000, heldout_tokens=3000, kmeans_iters=15)
    stages: list[str] = []
    path = build_workspace(cfg, tmp_path_factory.mktemp("real"), progress=lambda s, d, t: stages.append(s))
    assert {
        "load model",
        "read corpus",
        "extract train activations",
        "fit k-means",
        "index val",
        "index heldout",
    } <= set(stages)
    return path


class ScriptedLLMServer:
    """A real HTTP server on loopback that speaks the OpenAI chat and Anthropic Messages APIs.

    `handler(prompt) -> (status, body_text, delay_s)` decides each answer (`handler(prompt, body)` when it
    requires two arguments, to see structured-output fields); calls are recorded. An Anthropic request that
    forces a tool gets the answer text, when it is a JSON object, as that tool's input.
    """

    def __init__(self, handler):
        import http.server
        import inspect
        import json
        import threading
        import time

        self.handler = handler
        self.calls: list[dict] = []
        outer = self
        required = [p for p in inspect.signature(handler).parameters.values() if p.default is p.empty]
        with_body = len(required) == 2

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                return None

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][-1]["content"]
                outer.calls.append({"path": self.path, "body": body, "headers": dict(self.headers)})
                status, text, delay = outer.handler(prompt, body) if with_body else outer.handler(prompt)
                if delay:
                    time.sleep(delay)
                if self.path.endswith("/messages"):
                    payload = {"content": [{"type": "text", "text": text}]}
                    forced = (body.get("tool_choice") or {}).get("name")
                    with contextlib.suppress(json.JSONDecodeError):
                        if forced and isinstance(json.loads(text), dict):
                            payload = {"content": [{"type": "tool_use", "name": forced, "input": json.loads(text)}]}
                else:
                    payload = {"choices": [{"message": {"role": "assistant", "content": text}}]}
                raw = text.encode() if status == 299 else json.dumps(payload).encode()
                self.send_response(200 if status == 299 else status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(raw)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def llm_server():
    servers: list[ScriptedLLMServer] = []

    def start(handler) -> ScriptedLLMServer:
        s = ScriptedLLMServer(handler)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.close()


def pytest_collection_modifyitems(config, items):
    """Run the Playwright tests last: its sync API keeps an event loop running on the main thread for the
    rest of the session, which breaks asyncio.run() in any test that comes after it."""
    items.sort(key=lambda item: "test_browser" in item.nodeid)


@pytest.fixture(scope="session")
def real_acts() -> torch.Tensor:
    """About 6,000 layer-6 activations of the embedded model on the embedded corpus, cosine-normalised
    like a default build: the outlier dimensions of real activations drive bf16's rounding error."""
    from autointerp.core.activations import iter_activations
    from autointerp.core.models import load_model, sink_token_id
    from autointerp.core.search import normalise
    from autointerp.data.corpus import make_windows, read_corpus

    model = load_model("embedded", device="cpu", dtype="bfloat16")
    sink = sink_token_id(model.tokenizer)
    split = make_windows(
        read_corpus("embedded:enwiki"), model.tokenizer, 64, {"train": 6000, "val": 64, "heldout": 64}, 0
    )
    x = torch.cat([b.acts for b in iter_activations(model, split["train"].windows, 6, "layer_output", sink)])
    return normalise(x, x.mean(0), "cosine")
