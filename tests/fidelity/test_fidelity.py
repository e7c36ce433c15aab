"""Fidelity on a tiny random model: exact reconstructions recover everything, trained centroids beat random
ones, the first token is never patched, a stack has one record per layer, bad input is one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from autointerp.cli import main
from autointerp.config import RunOptions
from autointerp.errors import InputError
from autointerp.fidelity.build_time import heldout_documents
from autointerp.fidelity.measure import Sums, Target, measure, measure_batch, measure_members, pad_rows, with_sink
from autointerp.fidelity.output_side import ModelParts
from autointerp.fidelity.patching import forward, random_directions
from autointerp.fidelity.records import FidelityRecord, load_record, save_record
from autointerp.stack import Stack
from autointerp.workspace import Workspace

LAYER = 2


def corpus_lines(path: Path) -> list[str]:
    return [x for x in path.read_text(encoding="utf-8").split("\n\n") if x.strip()]


def documents(model, corpus: Path, n: int = 12) -> list[list[int]]:
    return [model.tokenizer(x, add_special_tokens=False)["input_ids"][:30] for x in corpus_lines(corpus)[-n:]]


@pytest.fixture(scope="session")
def trained_model_dir(tiny_model_dir: Path, tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Llama trained for a few seconds on the test sentences, so its predictions depend on the residual
    stream and CE loss recovered means something (on a random model clean and ablated CE are both ~log V)."""
    from transformers import AutoTokenizer, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("trained-llama")
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = LlamaForCausalLM.from_pretrained(tiny_model_dir)
    rows = [[0] + tok(x, add_special_tokens=False)["input_ids"][:47] for x in corpus_lines(tiny_corpus)[:64]]
    width = min(len(r) for r in rows)
    data = torch.tensor([r[:width] for r in rows])
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for step in range(120):
        batch = data[(torch.arange(16) + 16 * step) % len(data)]
        loss = model(input_ids=batch, labels=batch).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def trained_model(trained_model_dir: Path):
    from autointerp.core.models import load_model

    return load_model(str(trained_model_dir), device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def trained_workspace(tiny_config, trained_model, trained_model_dir: Path, tmp_path_factory) -> Path:
    from autointerp.workspace import build_workspace

    cfg = tiny_config.with_(model=str(trained_model_dir), k=16, pos_tags=False, concepts=False)
    return build_workspace(cfg, tmp_path_factory.mktemp("trained-ws"), options=RunOptions(model=trained_model))


def site_activations(model, docs: list[list[int]], sink: int | None) -> torch.Tensor:
    """Every patchable activation of `docs`, read by one clean pass."""
    ids, attn = pad_rows(with_sink(docs, sink), 0)
    x = forward(model, ids, attn, LAYER, "layer_output", read_site=True).site
    mask = attn.bool()
    mask[:, 0] = False
    return x[mask]


@pytest.mark.parametrize("normalisation", ["cosine", "none"])
def test_centroids_equal_to_the_activations_recover_everything(tiny_model, tiny_corpus, normalisation):
    docs = documents(tiny_model, tiny_corpus)
    x = site_activations(tiny_model, docs, 0)
    center = x.mean(0)
    cents = torch.nn.functional.normalize(x - center, dim=-1) if normalisation == "cosine" else x
    target = Target(LAYER, "layer_output", 0, cents, center if normalisation == "cosine" else None, normalisation)
    r = measure(tiny_model, target, docs, "test").record
    assert r.tokens == x.shape[0] and r.ce_ablated != pytest.approx(r.ce_clean, abs=1e-4)
    assert r.ce_recovered == pytest.approx(1.0, abs=1e-3)
    assert r.fve == pytest.approx(1.0, abs=1e-4)
    assert r.codebook.kl_mean < 1e-5
    assert r.random.fve < 0.5 and r.random.kl_mean > 100 * r.codebook.kl_mean


def test_random_centroids_recover_less_than_trained_ones(trained_workspace, trained_model):
    ws = Workspace.open(trained_workspace)
    trained = ws.fidelity
    assert trained is not None and trained.source == "heldout" and trained.k == ws.centroids.shape[0]
    rand = random_directions(trained.k, ws.centroids.shape[1], ws.center, seed=5).centroids
    target = Target(LAYER, "layer_output", ws.info.sink_token_id, rand, ws.center, "cosine")
    docs = heldout_documents(ws.splits["heldout"].windows)
    other = measure(trained_model, target, docs, "heldout").record
    assert trained.ce_ablated > trained.ce_clean + 0.5  # the trained model needs this layer
    assert other.ce_clean == pytest.approx(trained.ce_clean, abs=1e-5)
    assert trained.fve > other.fve and trained.codebook.kl_mean < other.codebook.kl_mean
    assert trained.ce_recovered > other.ce_recovered
    assert trained.fve > trained.random.fve and trained.ce_recovered > trained.random.ce_recovered
    assert trained.centroids and all(c.tokens >= 1 and c.kl_mean >= 0 for c in trained.centroids)


@pytest.mark.parametrize("sink", [0, None])
def test_the_first_token_is_never_patched(tiny_model, tiny_corpus, sink):
    """The residual after the patched layer, read by a plain torch hook, keeps position 0 as it was."""
    docs = [[5] + d for d in documents(tiny_model, tiny_corpus, 6)]  # one first token for all, sink or not
    seen: list[torch.Tensor] = []
    layers = tiny_model._model.model.layers
    hook = layers[LAYER + 1].register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    try:
        cents = torch.nn.functional.normalize(torch.randn(8, 64, generator=torch.Generator().manual_seed(1)), dim=-1)
        m = measure(
            tiny_model, Target(LAYER, "layer_output", sink, cents, None, "cosine"), docs, "t", keep_documents=True
        )
    finally:
        hook.remove()
    clean, full, members = seen[0], seen[1:4], seen[4:]
    assert members and all(x.shape[1] == 1 for x in members)  # members are single tokens behind the cache
    for patched in full:  # mean-ablated, codebook, random
        assert torch.allclose(patched[:, 0], clean[0, 0].expand_as(patched[:, 0]), atol=1e-5)
    assert not torch.allclose(seen[2][:, 1], clean[:, 1])  # the codebook pass did patch position 1
    first = m.documents[0].kl
    assert (first[0] is None) == (sink is None) and all(v is not None for v in first[1:])
    assert len(first) == len(docs[0])


def test_a_centroids_kl_is_its_member_patched_alone(trained_model, tiny_corpus):
    """Each member's KL, run as one token behind the clean cache (and, for a model without a cache, as a cut
    row), equals an independent plain-torch computation: the row cut after the member, the site patched
    there by a forward hook, KL against the full clean row at that position."""
    docs = documents(trained_model, tiny_corpus, 4)
    rows = with_sink(docs, 0)
    hidden = trained_model._model.config.hidden_size
    book = random_directions(16, hidden, torch.zeros(hidden), seed=3)
    target = Target(LAYER, "layer_output", 0, book.centroids, book.center, "cosine")
    picks = [(0, 1, 0), (0, 6, 1), (2, 3, 2), (1, len(rows[1]) - 1, 3), (3, 9, 4)]
    _, clean = measure_batch(trained_model, target, target.reconstructions(), rows, Sums(), 0, keep_cache=True)
    assert clean.cache is not None
    cached, cut = Sums(), Sums()
    measure_members(trained_model, target, book, rows, picks, clean, cached, 0, 1024)
    clean.cache = None
    measure_members(trained_model, target, book, rows, picks, clean, cut, 0, 1024)

    parts = ModelParts.of(trained_model, LAYER, "layer_output")

    def patch_last(module, args, output):
        h = output[0] if isinstance(output, tuple) else output
        h = h.clone()
        h[:, -1] = book(h[:, -1])
        return (h, *output[1:]) if isinstance(output, tuple) else h

    expected = {}
    with torch.no_grad():
        for r, p, cid in picks:
            full = torch.log_softmax(parts.lm(input_ids=torch.tensor([rows[r]])).logits[0, p].float(), -1)
            handle = parts.site.register_forward_hook(patch_last)
            try:
                lp = torch.log_softmax(parts.lm(input_ids=torch.tensor([rows[r][: p + 1]])).logits[0, -1].float(), -1)
            finally:
                handle.remove()
            expected[cid] = float((full.exp() * (full - lp)).sum())
    assert max(expected.values()) > 0.01  # the patch changes the prediction: the comparison means something
    for sums in (cached, cut):
        assert sorted(sums.centroid_kl) == sorted(expected)
        for cid, kl in expected.items():
            assert sums.centroid_kl[cid] == [pytest.approx(kl, rel=1e-3, abs=1e-5)]


def test_a_stack_gives_one_record_per_layer(tiny_stack, capsys):
    stack = Stack.open(tiny_stack)
    records = {layer: ws.fidelity for layer, ws in stack.workspaces.items()}
    assert all(r is not None and r.layer == layer for layer, r in records.items())
    assert sorted(records) == [1, 2, 3]
    ws = next(iter(stack.workspaces.values())).path
    assert main(["fidelity", "--workspace", str(ws), "--layers", "1,3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [o["layer"] for o in out] == [1, 3]
    assert out[0]["ce_recovered"] == pytest.approx(records[1].ce_recovered)


def test_record_round_trips_through_json(tiny_workspace, tmp_path):
    r = Workspace.open(tiny_workspace).fidelity
    assert isinstance(r, FidelityRecord)
    save_record(tmp_path, r)
    assert load_record(tmp_path) == r
    assert load_record(tmp_path / "absent") is None


def test_cli_json_on_a_text_file(tiny_workspace, tmp_path, capsys):
    f = tmp_path / "docs.txt"
    f.write_text("The cat sat on the mat.\n\n  \nA dog ran in the park, and the children laughed.\n", encoding="utf-8")
    assert main(["fidelity", "--workspace", str(tiny_workspace), "--text-file", str(f), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["documents"] == 2 and out["source"] == "text-file"
    for key in ("ce_clean", "ce_ablated", "ce_patched", "ce_recovered", "fve", "tokens"):
        assert isinstance(out[key], (int, float))
    assert set(out["baselines"]["random"]) >= {"ce_recovered", "fve"}


def test_bad_input_is_one_line(tiny_workspace, tmp_path, capsys, monkeypatch):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n   \n", encoding="utf-8")
    bare = tmp_path / tiny_workspace.name  # a workspace whose held-out split is empty and not yet measured
    shutil.copytree(tiny_workspace, bare)
    np.save(bare / "windows_heldout.npy", np.zeros((0, 32), dtype=np.int32))
    (bare / "fidelity.json").unlink()
    cases = {
        "has no text": [str(tiny_workspace), "--text-file", str(empty)],
        "unknown layer 7": [str(tiny_workspace), "--layers", "7"],
        "no held-out data": [str(bare)],
    }
    for expected, extra in cases.items():
        assert main(["fidelity", "--workspace", *extra]) == 2
        err = capsys.readouterr().err
        assert expected in err and err.count("\n") == 1 and "Traceback" not in err
    with pytest.raises(InputError, match="no held-out data"):
        heldout_documents(np.zeros((0, 32), dtype=np.int32))
    with pytest.raises(InputError, match="no held-out data"):
        heldout_documents(None)


def test_a_build_without_held_out_text_is_written_without_a_record(tiny_config):
    from autointerp.build.pipeline import BuildResult
    from autointerp.fidelity.build_time import measure_build

    result = BuildResult(tiny_config, torch.zeros(8, 64), None, {"sink_token_id": 0}, splits={})
    assert measure_build(None, result) is None
