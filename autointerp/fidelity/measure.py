"""CE loss clean / mean-ablated / patched, CE loss recovered, FVE, per-token KL, the random baseline, and
each centroid's own KL, from batched full forward passes.

Every model input is `[sink] + document tokens` (the sink when the model has one, as everywhere in the
project); position 0 of each input, the sink or else the document's first token, is never patched. CE
counts the next-token predictions made at patched positions; FVE and KL count every patched token.

Per centroid: in each batch, the earliest member of each centroid not yet sampled `members` times is
patched alone and its KL read at that position. Everything before a member is clean, so the member runs as
one new token behind the clean pass's key/value cache (only the positions before it visible): a token per
member instead of a row per member. A centroid absent from the sample gets no figure.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from autointerp.errors import InputError
from autointerp.fidelity.patching import (
    CodebookReconstruction,
    Continuation,
    MeanAblation,
    Patch,
    Reconstruction,
    forward,
    random_directions,
)
from autointerp.fidelity.records import CentroidLoss, FidelityRecord, Figures, recovered

BATCH_TOKENS = 512  # (batch x seq) per forward: its bf16 logits are 50 MB at 49k vocab, two are kept at once
STAT_ROWS = 32  # positions per log-softmax block: 6 MB of float32 at 49k vocab, a handful alive at once
# The build-time budget (issue 17: at most 15% of the default build). Measured on the default workspace (2 cores,
# one thread): a default build took 75 s; fidelity on 24 windows (1,249 tokens) 15 s with one member per centroid
# run as a cut row each, 8.7 s without; on 16 windows (about 830 tokens) 11.9 s, and CE loss recovered / FVE moved
# by < 0.005 (0.618 / 0.247 against 0.622 / 0.246). Members as one cached token each took the member step from
# 5.3 s to 0.6 s. bench/fidelity.py measures the share.
MEMBERS_PER_CENTROID = 1
HELDOUT_WINDOWS = 16
TEXT_FILE_TOKENS = 128


@dataclass(frozen=True)
class Target:
    """What is patched: the layer, the site, the sink prefixed to every input, the codebook, the seed."""

    layer: int
    site: str
    sink_id: int | None
    centroids: torch.Tensor
    center: torch.Tensor | None
    normalisation: str
    seed: int = 0

    def reconstructions(self) -> dict[str, Reconstruction]:
        book = CodebookReconstruction(self.centroids, self.center, self.normalisation)
        k, hidden = self.centroids.shape
        return {
            "ablated": MeanAblation(book.center),
            "codebook": book,
            "random": random_directions(int(k), int(hidden), book.center, self.seed),
        }


@dataclass
class Sums:
    """Running totals over the batches, float64."""

    ce: dict[str, float] = field(default_factory=dict)
    kl: dict[str, float] = field(default_factory=dict)
    sq_err: dict[str, float] = field(default_factory=dict)
    ce_tokens: int = 0
    tokens: int = 0
    x_sum: torch.Tensor | None = None
    x_sq: float = 0.0
    centroid_kl: dict[int, list[float]] = field(default_factory=dict)

    def add(self, table: dict[str, float], name: str, value: float) -> None:
        table[name] = table.get(name, 0.0) + float(value)

    def add_acts(self, x: torch.Tensor) -> None:
        x = x.double()
        self.x_sum = x.sum(0) if self.x_sum is None else self.x_sum + x.sum(0)
        self.x_sq += float((x * x).sum())
        self.tokens += int(x.shape[0])

    def total_variance(self) -> float:
        """sum ||x - mean(x)||^2 over the patched tokens."""
        if self.x_sum is None or self.tokens == 0:
            return float("nan")
        return self.x_sq - float((self.x_sum * self.x_sum).sum()) / self.tokens

    def figures(self, name: str) -> Figures:
        n, m = max(self.ce_tokens, 1), max(self.tokens, 1)
        ce = self.ce[name] / n
        fve = 1.0 - self.sq_err[name] / self.total_variance() if self.total_variance() > 0 else float("nan")
        return Figures(ce, recovered(self.ce["clean"] / n, self.ce["ablated"] / n, ce), fve, self.kl[name] / m)


def pad_rows(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and attention mask."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(list(r), dtype=torch.long)
        attn[i, : len(r)] = 1
    return ids, attn


def batches(rows: list[list[int]], batch_tokens: int) -> Iterator[tuple[int, list[list[int]]]]:
    """Consecutive rows, about `batch_tokens` (rows x longest) per batch; yields (first row, rows)."""
    i = 0
    while i < len(rows):
        j, longest = i, 0
        while j < len(rows) and (j == i or max(longest, len(rows[j])) * (j - i + 1) <= batch_tokens):
            longest = max(longest, len(rows[j]))
            j += 1
        yield i, rows[i:j]
        i = j


def with_sink(docs: Sequence[Sequence[int]], sink_id: int | None) -> list[list[int]]:
    """Model inputs: each document behind the sink. A document needs two tokens: one kept, one patched."""
    prefix = [sink_id] if sink_id is not None else []
    rows = [prefix + [int(t) for t in d] for d in docs]
    return [r for r in rows if len(r) >= 2]


def log_probs(logits: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(logits.float(), dim=-1)


def kl_div(lp_clean: torch.Tensor, lp: torch.Tensor) -> torch.Tensor:
    """KL(clean || patched) over the last axis."""
    return (lp_clean.exp() * (lp_clean - lp)).sum(-1).clamp_min(0.0)


def token_stats(
    clean: torch.Tensor, patched: torch.Tensor | None, targets: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per position of (batch, seq, vocab) logits: the loss of `targets` (batch, seq) under `patched` (under
    `clean` when None) and KL(clean || patched), in blocks of STAT_ROWS positions, so no float32 array of the
    whole batch's vocabulary is ever made (the dashboard's first launch and a long text's overlay stay small).
    The clean block's log-softmax is redone for each variant: keeping it is that float32 array again."""
    shape, vocab = clean.shape[:-1], clean.shape[-1]
    c = clean.reshape(-1, vocab)
    p = patched.reshape(-1, vocab) if patched is not None else None
    t = targets.reshape(-1, 1)
    nll, kl = torch.empty(c.shape[0]), torch.zeros(c.shape[0])
    for lo in range(0, c.shape[0], STAT_ROWS):
        block = slice(lo, lo + STAT_ROWS)
        lp_c = log_probs(c[block])
        lp = lp_c if p is None else log_probs(p[block])
        nll[block] = -lp.gather(-1, t[block])[:, 0]
        if p is not None:
            kl[block] = kl_div(lp_c, lp)
    return nll.view(shape), kl.view(shape)


@dataclass
class BatchResult:
    """One batch's per-token KL of the codebook patch, for the sentence overlay."""

    kl: torch.Tensor  # (batch, seq), 0 at unpatched positions
    nll: dict[str, torch.Tensor]  # variant -> (batch, seq - 1) next-token loss
    ce_mask: torch.Tensor  # (batch, seq - 1)


@dataclass
class CleanPass:
    """What the per-centroid step reuses of a batch's clean pass."""

    ids: torch.Tensor  # (batch, seq)
    logits: torch.Tensor  # (batch, seq, vocab), the model's dtype
    acts: torch.Tensor  # (batch, seq, hidden), the site before patching
    mask: torch.Tensor  # (batch, seq): patched positions
    cache: Any  # the key/value cache, None when the model gave none


def measure_batch(
    model: Any,
    target: Target,
    recs: dict[str, Reconstruction],
    rows: list[list[int]],
    sums: Sums,
    pad_id: int,
    keep_cache: bool = False,
) -> tuple[BatchResult, CleanPass]:
    """Clean, mean-ablated, codebook and random passes over one batch; returns the codebook's per-token
    figures and the clean pass."""
    ids, attn = pad_rows(rows, pad_id)
    mask = attn.bool().clone()
    mask[:, 0] = False  # the first token of every input is never patched
    ce_mask = mask[:, :-1] & attn[:, 1:].bool()
    targets = torch.cat([ids[:, 1:], ids[:, :1]], dim=1)  # the next token at each position (the last: unused)
    clean = forward(model, ids, attn, target.layer, target.site, read_site=True, keep_cache=keep_cache)
    assert clean.site is not None
    nll = {"clean": token_stats(clean.logits, None, targets)[0][:, :-1]}
    x = clean.site[mask]
    sums.add_acts(x)
    sums.ce_tokens += int(ce_mask.sum())
    kl_book = torch.zeros(mask.shape)
    for name, rec in recs.items():
        logits = forward(model, ids, attn, target.layer, target.site, Patch(rec, mask)).logits
        loss, kl = token_stats(clean.logits, logits, targets)
        del logits
        nll[name] = loss[:, :-1]
        sums.add(sums.kl, name, float(kl[mask].sum()))
        sums.add(sums.sq_err, name, float(((x - rec(x)) ** 2).sum()))
        if name == "codebook":
            kl_book = torch.where(mask, kl, torch.zeros_like(kl))
    for name, v in nll.items():
        sums.add(sums.ce, name, float(v[ce_mask].sum()))
    return BatchResult(kl_book, nll, ce_mask), CleanPass(ids, clean.logits, clean.site, mask, clean.cache)


def pick_members(assigned: torch.Tensor, counts: dict[int, int], members: int) -> list[tuple[int, int, int]]:
    """(row, position, centroid): the earliest member in this batch of each centroid still short of
    `members` samples. `assigned` is (batch, seq), -1 where nothing was patched."""
    picks: dict[int, tuple[int, int]] = {}
    rows, cols = (assigned >= 0).nonzero(as_tuple=True)
    for r, c in sorted(zip(cols.tolist(), rows.tolist(), strict=True)):
        cid = int(assigned[c, r])
        if cid not in picks and counts.get(cid, 0) < members:
            picks[cid] = (c, r)
    for cid in picks:
        counts[cid] = counts.get(cid, 0) + 1
    return [(row, pos, cid) for cid, (row, pos) in sorted(picks.items())]


MEMBER_ROWS = 32  # continuations per forward: each carries a copy of its window's cache (1.5 MB for SmolLM2)


def measure_members(
    model: Any,
    target: Target,
    book: Reconstruction,
    rows: list[list[int]],
    picks: list[tuple[int, int, int]],
    clean: CleanPass,
    sums: Sums,
    pad_id: int,
    batch_tokens: int,
) -> None:
    """Each picked member patched alone, its KL read at its position: one cached token per member when the
    model hands back a cache that can be copied by row, else its row cut right after it (shortest first)."""
    if clean.cache is not None and hasattr(clean.cache, "batch_select_indices"):
        for lo in range(0, len(picks), MEMBER_ROWS):
            _members_cached(model, target, book, picks[lo : lo + MEMBER_ROWS], clean, sums)
        return
    picks = sorted(picks, key=lambda x: (x[1], x[2]))
    short = [rows[r][: p + 1] for r, p, _ in picks]
    for start, part in batches(short, batch_tokens):
        ids, attn = pad_rows(part, pad_id)
        last = attn.sum(1) - 1
        mask = torch.zeros_like(attn, dtype=torch.bool)
        mask[torch.arange(len(part)), last] = True
        out = forward(model, ids, attn, target.layer, target.site, Patch(book, mask))
        lp = log_probs(out.logits[torch.arange(len(part)), last])
        _add_member_kl(sums, picks[start : start + len(part)], clean, lp)


def _members_cached(
    model: Any, target: Target, book: Reconstruction, picks: list[tuple[int, int, int]], clean: CleanPass, sums: Sums
) -> None:
    row = torch.tensor([r for r, _, _ in picks])
    pos = torch.tensor([p for _, p, _ in picks])
    cache = copy.deepcopy(clean.cache)
    cache.batch_select_indices(row)
    visible = (torch.arange(clean.ids.shape[1])[None] < pos[:, None]).long()
    ids = clean.ids[row, pos][:, None]
    patch = Patch(book, torch.ones_like(ids, dtype=torch.bool))
    out = forward(
        model, ids, torch.ones_like(ids), target.layer, target.site, patch, after=Continuation(cache, pos, visible)
    )
    _add_member_kl(sums, picks, clean, log_probs(out.logits[:, -1]))


def _add_member_kl(sums: Sums, picks: list[tuple[int, int, int]], clean: CleanPass, lp: torch.Tensor) -> None:
    ref = log_probs(torch.stack([clean.logits[r, p] for r, p, _ in picks]))
    for (_, _, cid), kl in zip(picks, kl_div(ref, lp).tolist(), strict=True):
        sums.centroid_kl.setdefault(cid, []).append(kl)


@dataclass
class DocumentFidelity:
    """One document's figures: KL(clean || patched) per token (None where not patched) and its CE."""

    kl: list[float | None]
    ce_clean: float
    ce_ablated: float
    ce_patched: float

    @property
    def ce_recovered(self) -> float:
        return recovered(self.ce_clean, self.ce_ablated, self.ce_patched)


@dataclass
class Measurement:
    record: FidelityRecord
    documents: list[DocumentFidelity]


def _documents(result: BatchResult, rows: list[list[int]], offset: int) -> list[DocumentFidelity]:
    out = []
    for i, row in enumerate(rows):
        kl = result.kl[i, : len(row)].tolist()
        patched = [None] + kl[1:]  # input position 0 is never patched
        doc_kl = patched[offset:]  # per document token: the sink, when there is one, is not a token of it
        m = result.ce_mask[i]
        ce = {k: float(v[i][m].mean()) if bool(m.any()) else float("nan") for k, v in result.nll.items()}
        out.append(DocumentFidelity(doc_kl, ce["clean"], ce["ablated"], ce["codebook"]))
    return out


def measure(
    model: Any,
    target: Target,
    docs: Sequence[Sequence[int]],
    source: str,
    *,
    members: int = MEMBERS_PER_CENTROID,
    batch_tokens: int = BATCH_TOKENS,
    keep_documents: bool = False,
) -> Measurement:
    """Every figure of the record on `docs` (token ids, no sink), in batches of about `batch_tokens`."""
    t0 = time.perf_counter()
    rows = with_sink(docs, target.sink_id)
    if not rows:
        raise InputError("no document has two tokens or more: nothing to patch")
    pad_id = target.sink_id if target.sink_id is not None else 0
    recs = target.reconstructions()
    sums, counts, documents = Sums(), dict[int, int](), list[DocumentFidelity]()
    for _, part in batches(rows, batch_tokens):
        result, clean = measure_batch(model, target, recs, part, sums, pad_id, keep_cache=members > 0)
        if keep_documents:
            documents += _documents(result, part, 1 if target.sink_id is not None else 0)
        if members > 0:
            assigned = torch.full(clean.mask.shape, -1, dtype=torch.long)
            assigned[clean.mask] = recs["codebook"].assign(clean.acts[clean.mask])
            picks = pick_members(assigned, counts, members)
            measure_members(model, target, recs["codebook"], part, picks, clean, sums, pad_id, batch_tokens)
        del clean
    record = FidelityRecord(
        layer=target.layer,
        site=target.site,
        k=int(target.centroids.shape[0]),
        normalisation=target.normalisation,
        source=source,
        documents=len(rows),
        tokens=sums.tokens,
        ce_clean=sums.ce["clean"] / max(sums.ce_tokens, 1),
        ce_ablated=sums.ce["ablated"] / max(sums.ce_tokens, 1),
        codebook=sums.figures("codebook"),
        random=sums.figures("random"),
        centroids=[CentroidLoss(c, float(np.mean(v)), len(v)) for c, v in sorted(sums.centroid_kl.items())],
        seconds=round(time.perf_counter() - t0, 2),
        policy=(
            f"{len(rows)} documents, sink-prefixed, position 0 never patched; per centroid up to {members} "
            "members patched alone (the earliest in each batch), KL at the member"
        ),
    )
    return Measurement(record, documents)


def windows_as_documents(windows: np.ndarray, limit: int | None = HELDOUT_WINDOWS) -> list[list[int]]:
    """A workspace's padded held-out windows (PAD = -1) as token lists, the first `limit` of them."""
    rows = windows if limit is None else windows[:limit]
    return [[int(t) for t in w if t >= 0] for w in rows]


def read_text_documents(path: str, tokenizer: Any | None = None, max_tokens: int = TEXT_FILE_TOKENS) -> list[Any]:
    """Each non-empty line one document, cut to its first `max_tokens` tokens. Without a tokenizer, the
    lines themselves (so an empty or unreadable file is reported before the model loads)."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = [line.strip() for line in fh if line.strip()]
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text ({exc.reason})") from None
    if not lines:
        raise InputError(f"{path} has no text: give one document per non-empty line")
    if tokenizer is None:
        return lines
    return [tokenizer(line, add_special_tokens=False)["input_ids"][:max_tokens] for line in lines]


def sentence_fidelity(model: Any, target: Target, ids: Sequence[int]) -> DocumentFidelity:
    """One text's per-token KL and CE loss recovered (the sentence page's overlay); no per-centroid pass."""
    return measure(model, target, [list(ids)], "sentence", members=0, keep_documents=True).documents[0]
