import pytest

from autointerp import CentroidExplanation
from autointerp.errors import InputError
from autointerp.explain.cache_io import FORMATS, export_records, import_records

RECS = [
    CentroidExplanation(0, 'Commas, quoted "x"', 0.8, ["a, b", "c"], "2026-01-01T00:00:00", {"score": {"n": 3}}),
    CentroidExplanation(5, "<img src=x onerror=alert(1)>", 0.1, [], "2026-01-02T00:00:00", {}),
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip(fmt):
    assert import_records(export_records(RECS, fmt), fmt) == RECS


@pytest.mark.parametrize(
    "text, fmt, match",
    [
        ("{not json", "json", "not valid JSON"),
        ('{"a": 1}', "json", "must be a list"),
        ('{"centroid_id": 1, "explanation": "x", "confidence": 2}\n', "jsonl", "outside"),
        ('{"centroid_id": 9, "explanation": "x", "confidence": 0.2}\n', "jsonl", "out of range"),
        ("centroid_id,explanation\n1,x\n", "csv", "confidence"),
    ],
)
def test_bad_imports_are_rejected_whole(text, fmt, match):
    with pytest.raises(InputError, match=match):
        import_records(text, fmt, num_centroids=8)
