"""Fidelity's pure parts: the meta-interpretation's note, the sidebar line and the figures (no model)."""

from __future__ import annotations

import math

import torch

from autointerp.analysis.meta_interpretation import fidelity_note
from autointerp.analysis.sentence import SentenceAnalysis
from autointerp.fidelity.records import CentroidLoss, FidelityRecord, Figures, recovered
from autointerp.records import SentenceRow
from autointerp.ui.fidelity import depth_fidelity_chart, fidelity_help, fidelity_line, kl_heat_row, overlay_help


def record(layer: int = 12, losses: dict[int, float] | None = None) -> FidelityRecord:
    cents = [CentroidLoss(c, kl, 2) for c, kl in (losses or {}).items()]
    return FidelityRecord(
        layer, "layer_output", 256, "cosine", "heldout", 48, 3072, 3.6, 9.5,
        Figures(6.3, 0.54, 0.2, 0.8), Figures(9.4, 0.02, -0.5, 2.0), cents,
    )  # fmt: skip


def row(pos: int, tok: str, cid: int) -> SentenceRow:
    return SentenceRow(pos, pos, tok, cid, "", 0.0, 0.0, 0.0, 0.0, cid, 1.0)


def test_recovered_is_the_share_of_the_ablation_gap_closed():
    assert recovered(3.0, 9.0, 3.0) == 1.0 and recovered(3.0, 9.0, 9.0) == 0.0
    assert recovered(3.0, 9.0, 6.0) == 0.5 and math.isnan(recovered(3.0, 3.0, 4.0))


def test_the_meta_note_names_only_the_worst_measured_centroids_of_this_text():
    losses = {c: 0.1 for c in range(20)} | {7: 3.0, 9: 2.0}
    analysis = SentenceAnalysis([row(0, "The", 1), row(1, " cat", 7), row(2, " sat", 7), row(3, ".", 3)], 4)
    note = fidelity_note(analysis, record(losses=losses))
    assert "centroid 7 (KL 3.00 nats)" in note and "' cat', ' sat'" in note and "centroid 1 " not in note
    assert "CE loss recovered 0.54" in note
    assert fidelity_note(SentenceAnalysis([row(0, "The", 1)], 1), record(losses=losses)) == ""
    assert fidelity_note(analysis, None) == "" and fidelity_note(analysis, record()) == ""


def test_sidebar_line_and_figures():
    assert fidelity_line(record()) == "CE loss recovered 0.54 · FVE 0.20"
    assert "not measured" in fidelity_line(None)
    fig = kl_heat_row(["The", " cat", "<0xF0><0x9F><0x98>", "\n"], [None, 0.25, 0.5, 0.1])
    assert fig.data[0].text[0][1] == "·cat<br>KL 0.250 nats" and "not patched" in fig.data[0].text[0][0]
    ticks = list(fig.layout.xaxis.ticktext)
    assert ticks[:2] == ["The", "·cat"] and ticks[3] == "↵" and len(ticks[2]) == 10 and ticks[2].endswith("…")
    assert fig.data[0].text[0][2].startswith("<0xF0><0x9F><0x98><br>")  # the hover keeps the whole token
    assert "held-out" in fidelity_help(record()) and "heldout" not in fidelity_help(record())
    assert "four more times" in overlay_help(record()) and fidelity_line(record()) in overlay_help(record())
    chart = depth_fidelity_chart({3: record(3), 12: record(12), 6: None})
    assert list(chart.data[0].x) == [3, 12] and list(chart.data[0].y) == [0.54, 0.54]


def test_token_stats_in_blocks_equal_the_whole_batch_at_once():
    """Loss and KL per position, computed STAT_ROWS positions at a time from bf16 logits, equal the direct
    float32 computation over the whole (batch, seq, vocab) array."""
    from autointerp.fidelity.measure import STAT_ROWS, token_stats

    g = torch.Generator().manual_seed(0)
    batch, seq, vocab = 3, STAT_ROWS + 7, 50  # more positions than one block, not a multiple of it
    clean = (4 * torch.randn(batch, seq, vocab, generator=g)).bfloat16()
    patched = (clean.float() + torch.randn(batch, seq, vocab, generator=g)).bfloat16()
    targets = torch.randint(vocab, (batch, seq), generator=g)
    lp_c, lp = torch.log_softmax(clean.float(), -1), torch.log_softmax(patched.float(), -1)
    nll, kl = token_stats(clean, patched, targets)
    assert torch.allclose(nll, -lp.gather(-1, targets[..., None])[..., 0], atol=1e-5)
    assert torch.allclose(kl, (lp_c.exp() * (lp_c - lp)).sum(-1), atol=1e-5) and bool((kl > 0).all())
    nll_clean, kl_clean = token_stats(clean, None, targets)
    assert torch.allclose(nll_clean, -lp_c.gather(-1, targets[..., None])[..., 0], atol=1e-5)
    assert not bool(kl_clean.any())
