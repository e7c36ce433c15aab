"""The explanation cache remembers parsed files: never at the cost of a stale or shared record."""

import subprocess
import sys

from autointerp import CentroidExplanation, CentroidExplanationCache


def make(cid: int = 3, text: str = "Determiners and articles") -> CentroidExplanation:
    return CentroidExplanation(cid, text, 0.7, ["the cat"], "2026-01-01T00:00:00", {"flags": ["a"]})


def test_each_get_is_a_copy_the_caller_may_change(tmp_path):
    c = CentroidExplanationCache(tmp_path)
    c.set(make())
    first = c.get(3)
    first.explanation = "changed"
    first.info.flags.append("b")
    again = c.get(3)
    assert again.explanation == "Determiners and articles" and again.info.flags == ["a"]
    assert again is not first


def test_a_write_by_another_process_is_read_at_once(tmp_path):
    c = CentroidExplanationCache(tmp_path)
    c.set(make())
    assert c.get(3).explanation == "Determiners and articles"  # now remembered
    code = (
        "import sys; from autointerp import CentroidExplanation, CentroidExplanationCache as C;"
        "C(sys.argv[1]).set(CentroidExplanation(3, 'Written elsewhere', 0.4, []))"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    assert c.get(3).explanation == "Written elsewhere"
    (tmp_path / "centroid_3.json").write_text('{"centroid_id": 3, "explan')  # corrupted in place
    assert c.get(3) is None and 3 in c.corrupt
    (tmp_path / "centroid_3.json").unlink()
    assert c.get(3) is None
