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


def test_confidence_has_one_source_the_score():
    from autointerp.records import ExplanationInfo, ScoreResult

    e = CentroidExplanation(1, "x", 0.3, info=ExplanationInfo(Status.SCORED, score=ScoreResult("exact-rule", 0.7203)))
    assert e.confidence == 0.4406 == e.to_dict()["confidence"] == e.to_dict()["metadata"]["score"]["confidence"]
    unmeasured = ExplanationInfo(Status.UNSCORED, score=ScoreResult("none", None, status=Status.UNSCORED))
    assert CentroidExplanation(1, "x", 0.3, info=unmeasured).confidence == 0.0
    assert CentroidExplanation(1, "x", 0.3).confidence == 0.3  # no score (the seed's format): the number it came with


def test_the_serializer_owns_exactly_the_keys_the_hand_written_list_had():
    from autointerp.records import PROVENANCE_KEYS, ExplanationInfo, own_keys

    assert own_keys(ExplanationInfo) == {
        *PROVENANCE_KEYS,
        *("layer_idx", "activation_type", "generation_method", "explainer", "explainer_model", "prompt_version"),
        *("status", "score", "confidence_mapping", "evidence", "flags", "population", "neighbours"),
        *("stated_confidence", "human_edited", "accepted", "imported", "previous_explanation", "error"),
        "error_reason",
    }
