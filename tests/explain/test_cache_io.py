import pytest

from autointerp import CentroidExplanation
from autointerp.errors import InputError
from autointerp.explain.cache_io import FORMATS, export_records, import_records

SCORED = {"status": "scored", "score": {"method": "exact-rule", "balanced_accuracy": 0.9, "status": "scored"}}
RECS = [
    CentroidExplanation(0, 'Commas, quoted "x"', 0.8, ["a, b", "c"], "2026-01-01T00:00:00", SCORED),
    CentroidExplanation(5, "<img src=x onerror=alert(1)>", 0.0, [], "2026-01-02T00:00:00", {"status": "unscored"}),
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip(fmt):
    assert import_records(export_records(RECS, fmt), fmt) == RECS


def test_not_measured_is_exported_as_null_never_zero():
    import json

    out = json.loads(export_records(RECS, "json"))
    assert out[0]["confidence"] == 0.8 and out[0]["metadata"]["score"]["confidence"] == 0.8
    assert out[1]["confidence"] is None
    bad = [{**out[0], "confidence": None}]  # a scored record that lost its confidence
    with pytest.raises(InputError, match="needs its confidence"):
        import_records(json.dumps(bad), "json")


@pytest.mark.parametrize(
    "text, fmt, match",
    [
        ("{not json", "json", "not valid JSON"),
        ('{"a": 1}', "json", "must be a list"),
        ('{"centroid_id": 1, "explanation": "x", "confidence": 2}\n', "jsonl", "outside"),
        ('{"centroid_id": 9, "explanation": "x", "confidence": 0.2}\n', "jsonl", "out of range"),
        ('{"centroid_id": 99999, "explanation": "x"}\n', "jsonl", "out of range"),  # said before what else lacks
        ("centroid_id,explanation\n1,x\n", "csv", "confidence"),
    ],
)
def test_bad_imports_are_rejected_whole(text, fmt, match):
    with pytest.raises(InputError, match=match):
        import_records(text, fmt, num_centroids=8)
