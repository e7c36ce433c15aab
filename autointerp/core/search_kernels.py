"""Compiled per-row loops of the bf16 search (numba), for CPU tensors.

Why: around the bf16 matmul, the search's own work is many small steps per row (top two of a row, the
candidates under a threshold, a few dot products). As torch ops each step is a separate pass with its own
dispatch, gathers and temporaries, and measured on a 4096-row block at k = 1024 they cost 60-80% of the
matmul itself; one compiled loop per row does the same work in a few passes over data already in cache.
The torch versions in `core.search` stay: they run everywhere else (GPUs, no numba) and the tests hold
the two to the same answers.

This module is imported on the first compiled call (numba's import takes about half a second; the first
compile about two, after which numba's cache beside this file serves later processes).

The pair bounds are computed in float64 here, at least as accurate as the torch path's float32 with its
1.001 margin; row norms and exact distances are float32 sums, as in torch and the float32 search.
"""

from __future__ import annotations

import numpy as np
from numba import njit

LANES = 32  # must equal core.search.LANES: the lane minima come from a (rows, k / LANES, LANES) view


@njit(nogil=True, cache=True, fastmath={"reassoc", "contract"})
def to_bf16_rows(x, bits, low, sq, resid, row):
    """Each row of x rounded to bf16 (round to nearest even, as torch's conversion; NaN stays NaN) into
    low[:, :d], with ‖x‖² and ‖x - bf16(x)‖ as float32 sums (as torch's, whose error the bound's margins
    cover), in one pass over x (torch: three passes, measured 2.6 ms of a 4096 × 576 block streamed from
    memory, against 0.5). bits: x's float32 bit
    patterns; row: (d,) uint32 scratch whose float32 view reads the rounded values back."""
    rows, d = x.shape
    back = row.view(np.float32)
    for p in range(rows):
        for i in range(d):
            u = bits[p, i]
            hi = (u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)
            nan = (u & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000)
            hi = ((u >> np.uint32(16)) | np.uint32(0x40)) if nan else hi
            low[p, i] = np.uint16(hi)
            row[i] = hi << np.uint32(16)
        total, err = np.float32(0.0), np.float32(0.0)
        for i in range(d):
            v = x[p, i]
            t = v - back[i]
            total += v * v
            err += t * t
        sq[p], resid[p] = total, np.sqrt(err)


@njit(nogil=True, cache=True)
def top2_from_lanes(scores, lane_min, v1, b1, v2):
    """Per row: the smallest score, a column holding it, and the second smallest (equal to the first
    on a tie), from the lane minima (column j is in lane j mod LANES) and one strided pass over the
    winning lane: the runner-up is the second-smallest lane minimum or the winning lane's own second."""
    rows, k = scores.shape
    groups = k // LANES
    for p in range(rows):
        best, lane = np.inf, 0
        for ln in range(LANES):
            if lane_min[p, ln] < best:
                best, lane = lane_min[p, ln], ln
        second = np.inf
        for ln in range(LANES):
            if ln != lane and lane_min[p, ln] < second:
                second = lane_min[p, ln]
        col = -1
        for g in range(groups):
            v = scores[p, g * LANES + lane]
            if col < 0 and v == best:
                col = g * LANES + lane
            elif v < second:
                second = v
        v1[p], b1[p], v2[p] = best, col, second


@njit(nogil=True, cache=True)
def top3_from_lanes(scores, lane_min, v1, b1, v2, b2, v3):
    """Per row: the three smallest scores (the first two with a column holding each), from the members of
    the three lanes with the smallest minima: any score outside them is at least those three minima,
    so it cannot be below the third smallest inside them. Equal scores may come back in either order;
    the search re-checks every row with a tie for first or second place."""
    rows, k = scores.shape
    groups = k // LANES
    for p in range(rows):
        l1, l2, l3 = -1, -1, -1
        m1, m2, m3 = np.inf, np.inf, np.inf
        for ln in range(LANES):
            v = lane_min[p, ln]
            if v < m1:
                m3, l3, m2, l2, m1, l1 = m2, l2, m1, l1, v, ln
            elif v < m2:
                m3, l3, m2, l2 = m2, l2, v, ln
            elif v < m3:
                m3, l3 = v, ln
        t1, t2, t3 = np.inf, np.inf, np.inf
        c1, c2 = -1, -1
        for q in range(3):
            ln = l1 if q == 0 else (l2 if q == 1 else l3)
            if ln < 0:
                continue
            for g in range(groups):
                j = g * LANES + ln
                v = scores[p, j]
                if v < t1 or (v == t1 and j < c1):
                    t3, t2, c2, t1, c1 = t2, t1, c1, v, j
                elif v < t2 or (v == t2 and j < c2):
                    t3, t2, c2 = t2, v, j
                elif v < t3:
                    t3 = v
        v1[p], b1[p], v2[p], b2[p], v3[p] = t1, c1, t2, c2, t3


@njit(nogil=True, cache=True, fastmath={"reassoc", "contract"})
def _sq_dist(x, c, p, j):
    """‖x[p] - c[j]‖², a float32 sum (`reassoc` lets LLVM split it into vector lanes: measured 46 ns at
    d = 576 against 168 with hand-kept partial sums in an array)."""
    total = np.float32(0.0)
    for i in range(x.shape[1]):
        t = x[p, i] - c[j, i]
        total += t * t
    return total


@njit(nogil=True, cache=True)
def refine_one(
    scores, lane_min, thr, redo, x, c, b, v1, resid, dist, rounding, pdist, pspread, ptilt, eps, out_idx, out_d2, out_n
):
    """The exact nearest centroid of each row in `redo`: among the centroids scoring at most thr[p]
    (looked for only in lanes whose minimum is), drop those the pair bound proves farther than the bf16
    pick b[p] (as `core.search._prune`), then float32 ‖x - c‖² for the rest, ties to the lowest
    column. out_n[i]: the centroids scored for row i."""
    k = c.shape[0]
    groups = scores.shape[1] // LANES
    pairs = pdist.shape[0] == k
    for i in range(len(redo)):
        p = redo[i]
        bp, top, lead0 = b[p], thr[p], np.float64(v1[p])
        xi, dp, rp = np.float64(resid[p]), np.float64(dist[p]), np.float64(rounding[p])
        best, col, n = np.inf, -1, 0
        for ln in range(LANES):
            if lane_min[p, ln] > top:
                continue
            for g in range(groups):
                j = g * LANES + ln
                s = scores[p, j]
                if s > top or j >= k:
                    continue
                if pairs and j != bp:
                    bound = 2.0 * xi * pdist[bp, j] + 2.0 * (dp + xi) * pspread[bp, j] + 2.0 * ptilt[bp, j]
                    bound = (bound + rp + eps * abs(np.float64(s))) / (1.0 - eps) * 1.001 + 1e-30
                    if np.float64(s) - lead0 > bound:
                        continue  # provably farther than b
                v = _sq_dist(x, c, p, j)
                n += 1
                if v < best or (v == best and j < col):
                    best, col = v, j
        out_idx[i], out_d2[i], out_n[i] = col, best, n


@njit(nogil=True, cache=True)
def refine_two(scores, lane_min, thr, redo, x, c, out_idx, out_d2, out_n):
    """The exact two nearest centroids of each row in `redo`, among those scoring at most thr[p] (looked
    for only in lanes whose minimum is): float32 ‖x - c‖², nearest first, ties to the lower column."""
    k = c.shape[0]
    groups = scores.shape[1] // LANES
    for i in range(len(redo)):
        p = redo[i]
        top = thr[p]
        d1, d2, c1, c2, n = np.inf, np.inf, -1, -1, 0
        for ln in range(LANES):
            if lane_min[p, ln] > top:
                continue
            for g in range(groups):
                j = g * LANES + ln
                if j >= k or scores[p, j] > top:
                    continue
                v = _sq_dist(x, c, p, j)
                n += 1
                if v < d1 or (v == d1 and j < c1):
                    d2, c2, d1, c1 = d1, c1, v, j
                elif v < d2 or (v == d2 and j < c2):
                    d2, c2 = v, j
        out_idx[i, 0], out_idx[i, 1], out_d2[i, 0], out_d2[i, 1], out_n[i] = c1, c2, d1, d2, n


@njit(nogil=True, cache=True, fastmath={"reassoc", "contract"})
def row_dots(x, c, cols, out):
    """x[p] · c[cols[p]] for every row p, a float32 sum."""
    for p in range(x.shape[0]):
        j = cols[p]
        total = np.float32(0.0)
        for i in range(x.shape[1]):
            total += x[p, i] * c[j, i]
        out[p] = total


@njit(nogil=True, cache=True)
def add_rows(sums, labels, x):
    """sums[labels[p]] += x[p] for every row p, in row order (torch's `index_add_` on CPU dispatches per
    row: measured 0.85 ms for a 4096 × 576 block in a fit, a fifth of the block's matmul)."""
    d = x.shape[1]
    for p in range(x.shape[0]):
        j = labels[p]
        for i in range(d):
            sums[j, i] += x[p, i]
