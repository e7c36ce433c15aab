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


def test_seed_metadata_reads_into_typed_info_and_writes_back_the_same_keys():
    from autointerp.records import ExplanationInfo, Provenance, Status

    seed = {
        "model": "m",
        "layer": 6,
        "site": "layer_output",
        "centroid_hash": "abc",
        "corpus": "c",
        "normalisation": "cosine",
        "layer_idx": 6,
        "activation_type": "layer_output",
        "status": "scored",
        "explainer": "offline-rules",
        "prompt_version": "offline-rules-3",
        "score": {"method": "exact-rule", "balanced_accuracy": 0.9, "n_pos": 40, "status": "scored"},
        "evidence": {"rule": [["pos:NOUN"]], "top_tokens": [["fox", 0.5]]},
        "flags": ["tiny"],
        "human_edited": False,
        "my_own_key": {"kept": True},
    }
    e = CentroidExplanation(1, "Nouns", 0.8, [], metadata=seed)
    info = e.info
    assert isinstance(info, ExplanationInfo) and info.status is Status.SCORED and e.measured
    assert info.provenance == Provenance("m", 6, "layer_output", "abc", "c", "cosine", "")
    assert info.rule == [["pos:NOUN"]] and info.score.balanced_accuracy == 0.9 and info.flags == ["tiny"]
    out = CentroidExplanation.from_dict(json.loads(json.dumps(e.to_dict()))).metadata
    for key in ("model", "layer", "layer_idx", "status", "explainer", "evidence", "flags", "my_own_key"):
        assert out[key] == seed[key], key
    assert out["score"]["balanced_accuracy"] == 0.9 and out["score"]["confidence"] == pytest.approx(0.8)


def test_unknown_or_missing_status_is_never_taken_as_measured():
    from autointerp.records import Status

    assert not make().measured  # the design document's example carries no status
    assert CentroidExplanation(1, "x", 0.9, metadata={"status": "bogus"}).status is Status.UNSCORED
    assert [s.measured for s in Status] == [True, False, False, False, False]
    assert {s for s in Status if s.cacheable} == {Status.SCORED, Status.INSUFFICIENT_DATA, Status.UNSCORED}


def test_sentence_row_to_dict_for_json_and_csv():
    import csv
    import io

    from autointerp.records import SentenceRow, Status

    row = SentenceRow(
        0, 5, " fox", 15, "Living things", 0.6, 0.7, 0.2, 0.1, 3, 12.0, ["tiny"], Status.UNSCORED, "human"
    )
    d = row.to_dict()
    assert json.loads(json.dumps(d)) == d and d["status"] == "unscored" and not row.measured
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(d))
    writer.writeheader()
    writer.writerow(d)
    assert next(csv.DictReader(io.StringIO(buf.getvalue())))["token_str"] == " fox"
