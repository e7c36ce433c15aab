"""Cache files written before the records' serializer was made generic still load, and are written back
byte for byte: other tools and the cache review page read these keys."""

import shutil
from pathlib import Path

import pytest

from autointerp import CentroidExplanation, CentroidExplanationCache
from autointerp.records import Status

FIXTURES = Path(__file__).parent / "fixtures" / "explanations"  # written by the code of commit 247a1f4


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("centroid_*.json")), ids=lambda p: p.stem)
def test_a_cache_file_written_by_the_earlier_code_round_trips_unchanged(path, tmp_path):
    shutil.copy(path, tmp_path / path.name)
    cache = CentroidExplanationCache(tmp_path)
    record = cache.get(int(path.stem.split("_")[1]))
    assert record is not None and not cache.corrupt
    cache.set(record)  # written again by this code
    assert (tmp_path / path.name).read_text() == path.read_text()
    assert CentroidExplanation.from_dict(record.to_dict()) == record


def test_the_records_read_back_typed():
    scored = CentroidExplanationCache(FIXTURES).get(8)
    assert scored.measured and scored.confidence == 0.4406 == scored.info.score.confidence
    edited = CentroidExplanationCache(FIXTURES).get(7)
    assert edited.status is Status.UNSCORED and edited.info.human_edited and edited.info.error_reason == "HTTP 503"
    assert edited.info.extra == {"reviewer_note": {"kept": True}} and edited.info.neighbours == [3, 9]
    offline = CentroidExplanationCache(FIXTURES).get(35)
    assert offline.info.rule and "rule" not in offline.info.evidence and offline.info.provenance.layer == 12
