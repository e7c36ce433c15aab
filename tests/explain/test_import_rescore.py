"""An imported file never supplies a confidence: new text is measured here, as an edit is; the same text
keeps the score the cache measured."""

import asyncio
import csv
import io
import json

import pytest

from autointerp.explain.cache_io import export_records, import_records

CHANGED = "Verbs of motion and action (spreadsheet edit)"  # issue 18's edit: reads as a word-class rule
NONSENSE = "Zorblat quux frobnication"  # reads as no rule: nothing offline can measure it


def forged(text: str, fmt: str, changes: dict[int, str | None]) -> str:
    """The exported file with confidence 0.99 on the centroids in `changes`, and their text replaced
    where a new one is given (as a spreadsheet or an editor would leave it)."""
    if fmt == "json":
        data = json.loads(text)
        for d in data:
            if d["centroid_id"] in changes:
                d["confidence"] = 0.99
                d["explanation"] = changes[d["centroid_id"]] or d["explanation"]
        return json.dumps(data)
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        if int(row["centroid_id"]) in changes:
            row["confidence"] = "0.99"
            row["explanation"] = changes[int(row["centroid_id"])] or row["explanation"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_import_never_trusts_a_confidence_from_the_file(tiny_interp, fmt):
    cache = tiny_interp.cache
    asyncio.run(tiny_interp.explanations.explain_all(list(range(tiny_interp.num_centroids))))
    before = {r.centroid_id: r for r in cache.all()}
    same, changed, nonsense = sorted(i for i, r in before.items() if r.measured)[:3]
    text = forged(export_records(list(before.values()), fmt), fmt, {same: None, changed: CHANGED, nonsense: NONSENSE})
    report = asyncio.run(tiny_interp.import_explanations(import_records(text, fmt, tiny_interp.num_centroids)))

    kept = cache.get(same)  # the same text: the measured score stands, the file's 0.99 does not
    assert kept.measured and kept.confidence == before[same].confidence != 0.99
    assert not kept.info.imported and not kept.info.human_edited

    edit = asyncio.run(tiny_interp.explanations._edited(changed, CHANGED, None))  # what an edit would get
    new = cache.get(changed)
    assert new.explanation == CHANGED and new.status == edit.status and new.confidence == edit.confidence
    assert new.measured and new.confidence != 0.99 and new.info.score.method == "exact-rule"
    assert new.info.imported and new.info.human_edited and new.info.previous_explanation == before[changed].explanation

    unread = cache.get(nonsense)  # nothing could measure it: not measured, never the file's 0.99
    assert unread.explanation == NONSENSE and not unread.measured and str(unread.status) == "unscored"
    assert unread.info.imported and unread.info.human_edited

    assert changed in report.measured and nonsense in report.not_measured and same in report.unchanged
    msg = report.describe()
    assert msg.startswith(f"Imported {len(before)} explanations.") and "never used" in msg


def test_a_round_trip_import_changes_nothing(tiny_interp):
    asyncio.run(tiny_interp.explanations.explain_all([0, 1, 2]))
    before = [r.to_dict() for r in tiny_interp.cache.all()]
    report = asyncio.run(
        tiny_interp.import_explanations(import_records(export_records(tiny_interp.cache.all(), "csv"), "csv"))
    )
    assert [r.to_dict() for r in tiny_interp.cache.all()] == before
    assert report.unchanged == [0, 1, 2] and not report.measured and not report.not_measured
