"""Export and import of cached explanations as JSON, JSONL or CSV."""

from __future__ import annotations

import csv
import io
import json

from autointerp.errors import InputError
from autointerp.formatting import rounded
from autointerp.records import CentroidExplanation

FORMATS = ("json", "jsonl", "csv")
CSV_FIELDS = ["centroid_id", "explanation", "confidence", "timestamp", "top_k_examples", "metadata"]


def _exported(r: CentroidExplanation) -> dict:
    """A record as exported: an unmeasured confidence is null, never a 0.0 a reader would take as measured."""
    d = rounded(r.to_dict())  # 0.4406, not 0.4406000000000001
    if not r.measured:
        d["confidence"] = None
    return d


def export_records(records: list[CentroidExplanation], fmt: str) -> str:
    data = [_exported(r) for r in records]
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False)
    if fmt == "jsonl":
        return "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in data)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=CSV_FIELDS)
        w.writeheader()
        for d in data:
            w.writerow(
                {
                    **d,
                    "top_k_examples": json.dumps(d["top_k_examples"], ensure_ascii=False),
                    "metadata": json.dumps(d["metadata"], ensure_ascii=False),
                }
            )
        return buf.getvalue()
    raise InputError(f"unknown format {fmt!r}; use one of {FORMATS}")


def import_records(text: str, fmt: str, num_centroids: int | None = None) -> list[CentroidExplanation]:
    """Parse and validate everything before anything is written, so a bad file changes nothing."""
    try:
        if fmt == "json":
            raw = json.loads(text)
            if not isinstance(raw, list):
                raise InputError("a JSON import must be a list of explanation records")
        elif fmt == "jsonl":
            raw = [json.loads(line) for line in text.splitlines() if line.strip()]
        elif fmt == "csv":
            raw = []
            for row in csv.DictReader(io.StringIO(text)):
                row = dict(row)
                row["top_k_examples"] = json.loads(row.get("top_k_examples") or "[]")
                row["metadata"] = json.loads(row.get("metadata") or "{}")
                raw.append(row)
        else:
            raise InputError(f"unknown format {fmt!r}; use one of {FORMATS}")
    except json.JSONDecodeError as exc:
        raise InputError(f"the file is not valid {fmt.upper()}: {exc.msg} (line {exc.lineno})") from exc
    out = []
    for n, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            raise InputError(f"record {n} is not an object")
        cid = item.get("centroid_id")
        numeric = isinstance(cid, int | str) and str(cid).lstrip("-").isdigit()
        if num_centroids is not None and numeric and not 0 <= int(str(cid)) < num_centroids:
            raise InputError(f"record {n}: centroid id {cid} is out of range 0..{num_centroids - 1}")
        unmeasured = "confidence" in item and item["confidence"] in (None, "")  # exported as not measured
        try:
            rec = CentroidExplanation.from_dict({**item, "confidence": 0.0} if unmeasured else item)
        except (ValueError, TypeError) as exc:
            raise InputError(f"record {n}: {exc}") from exc
        if unmeasured and rec.measured:
            raise InputError(f"record {n}: a scored explanation needs its confidence")
        out.append(rec)
    return out
