"""The centroid map's hover: a measured confidence with two decimals, a dash when nothing measured it."""

from autointerp.ui.browse import CentroidSummary
from autointerp.ui.figures import centroid_map_figure


def row(cid: int, conf: float | None) -> CentroidSummary:
    return CentroidSummary(cid, f"label {cid}", conf, 10 + cid, "", "offline-rules", "scored", False, cid, -cid)


def test_map_hover_shows_confidence_rounded_or_a_dash():
    fig = centroid_map_figure([row(0, 0.9630000000000001), row(1, None), row(2, 0.5)], selected=0)
    shown = {c[0]: c[2] for t in fig.data[:-1] for c in t.customdata}
    assert shown == {0: "0.96", 1: "—", 2: "0.50"}
    assert fig.data[-1].x == (0,)  # the ring marks the selected centroid


def test_fidelity_tile_fits_its_two_numbers(tiny_workspace):
    """The overlay's workspace tile cut "recovered 0.62 · F…" at 1400 px: it now holds the two numbers alone."""
    from autointerp.ui.fidelity import fidelity_pair
    from autointerp.workspace import Workspace

    record = Workspace.open(tiny_workspace).fidelity
    assert record is not None
    assert fidelity_pair(record) == f"{record.ce_recovered:.2f} / {record.fve:.2f}"
    assert len(fidelity_pair(record)) <= 13 and fidelity_pair(None) == "n/m"
