import json
import threading

import pytest

from autointerp import CentroidExplanation, CentroidExplanationCache, ValidationExample


def make(cid: int = 3, conf: float = 0.7) -> CentroidExplanation:
    return CentroidExplanation(
        cid, "Determiners and articles", conf, ["the cat"], "2026-01-01T00:00:00", {"layer_idx": 6}
    )


def test_round_trip_dict():
    e = make()
    assert CentroidExplanation.from_dict(e.to_dict()) == e
    assert set(e.to_dict()) == {"centroid_id", "explanation", "confidence", "top_k_examples", "timestamp", "metadata"}


def test_from_dict_rejects_out_of_range_confidence():
    with pytest.raises(ValueError, match="outside"):
        CentroidExplanation.from_dict({**make().to_dict(), "confidence": 1.5})


def test_validation_example_fields():
    v = ValidationExample("a b", [1, 2], ["a", " b"], 0.5, 1)
    assert (v.text, v.tokens, v.token_strings, v.activation, v.token_position) == ("a b", [1, 2], ["a", " b"], 0.5, 1)


def test_cache_set_get_has_clear_and_survives_new_instance(tmp_path):
    c = CentroidExplanationCache(tmp_path)
    assert not c.has(3) and c.get(3) is None
    c.set(make())
    assert (tmp_path / "centroid_3.json").exists()
    data = json.loads((tmp_path / "centroid_3.json").read_text())
    assert set(data) == set(make().to_dict())
    again = CentroidExplanationCache(tmp_path)
    assert again.has(3) and again.get(3) == make()
    again.clear()
    assert not CentroidExplanationCache(tmp_path).has(3)


def test_corrupt_file_is_reported_and_skipped(tmp_path):
    c = CentroidExplanationCache(tmp_path)
    c.set(make(1))
    (tmp_path / "centroid_2.json").write_text('{"centroid_id": 2, "explan')
    (tmp_path / "centroid_4.json").write_text('{"centroid_id": 5, "explanation": "x", "confidence": 0.1}')
    assert c.get(2) is None and 2 in c.corrupt
    assert c.get(4) is None and "5" in c.corrupt[4]
    assert [e.centroid_id for e in c.all()] == [1]


def test_concurrent_writers_never_leave_partial_files(tmp_path):
    c = CentroidExplanationCache(tmp_path)

    def writer(n: int) -> None:
        for i in range(30):
            c.set(make(7, conf=(n * 30 + i) / 1000))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert c.get(7) is not None and not c.corrupt
    assert [p.name for p in tmp_path.iterdir()] == ["centroid_7.json"]
