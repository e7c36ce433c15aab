"""One formatter: a confidence prints the same in every view, and JSON carries no float noise."""

import json

from autointerp.formatting import confidence_text, confidence_value, count_text, rounded, span_text
from autointerp.records import CentroidExplanation, ScoreResult, SentenceRow, Status


def test_the_formatter():
    assert confidence_text(0.9952) == "1.00" and confidence_value(0.9952) == 1.0
    assert confidence_text(None) == "not measured" and confidence_text(None, "n/m") == "n/m"
    assert span_text(0.8218, 0.946) == "0.822 – 0.946" and span_text(None, 0.9) == "—"
    assert count_text(1, "attempt") == "1 attempt" and count_text(2.0, "token") == "2 tokens"
    assert rounded({"a": [0.1 + 0.2, 3, None, "x"]}) == {"a": [0.3, 3, None, "x"]}


def test_a_confidence_carries_no_float_noise():
    s = ScoreResult("exact-rule", 0.7203)
    assert s.confidence == 0.4406 and '"confidence": 0.4406,' in json.dumps(s.to_dict())


def test_the_same_confidence_prints_the_same_everywhere(tiny_interp):
    """The cache grid rounded to 3 places (0.995, which a `%.2f` column shows as 0.99) while the sentence
    table and hover card showed 1.00."""
    from autointerp.ui.browse import cache_rows, table_rows
    from autointerp.ui.chips import confidence_text as chip_text

    meta = {"status": "scored", "score": {"method": "exact-rule", "balanced_accuracy": 0.9976, "status": "scored"}}
    rec = CentroidExplanation(0, "Commas", 0.9952, [], None, meta)
    row = SentenceRow(0, 1, ",", 0, "Commas", 0.9952, 1.0, 0.0, 0.1, 1, 1.0, status=Status.SCORED)
    assert cache_rows(tiny_interp, [rec])[0]["confidence"] == table_rows([row])[0]["Conf"] == 1.0
    assert chip_text(row) == "1.00"
