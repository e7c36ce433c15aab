"""On-disk explanation cache: one JSON file per centroid, written atomically."""

from __future__ import annotations

import json
import logging
import os
import pickle
from pathlib import Path
from typing import Any

from autointerp.files import atomic_write_text
from autointerp.records import CentroidExplanation

log = logging.getLogger(__name__)


class CentroidExplanationCache:
    """`cache_dir/centroid_<id>.json`, each holding exactly the fields of CentroidExplanation.

    A corrupt file is reported (logged and listed in `corrupt`) and treated as absent, never fatal.

    Parsed records are remembered by the file's (mtime, ctime, size, inode), so analysing a sentence at four layers
    re-reads no unchanged file; any write, here or by another process, changes the key. Each `get` returns
    a fresh copy that the caller may change.
    """

    def __init__(self, cache_dir: str | os.PathLike[str]):
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.corrupt: dict[int, str] = {}
        self._parsed: dict[int, tuple[tuple[int, int, int, int], bytes]] = {}

    def path(self, centroid_id: int) -> Path:
        return self.cache_dir / f"centroid_{int(centroid_id)}.json"

    def get(self, centroid_id: int) -> CentroidExplanation | None:
        p = self.path(centroid_id)
        try:
            st = p.stat()
            key = (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)
            known = self._parsed.get(int(centroid_id))
            if known is not None and known[0] == key:
                return pickle.loads(known[1])  # a copy: cheaper than reading and parsing the JSON again
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            self._parsed.pop(int(centroid_id), None)
            return None
        try:
            record = CentroidExplanation.from_dict(json.loads(text))
            if record.centroid_id != int(centroid_id):
                raise ValueError(f"file holds centroid {record.centroid_id}")
        except (ValueError, TypeError, json.JSONDecodeError) as exc:
            self.corrupt[int(centroid_id)] = str(exc)
            log.warning("skipping corrupt cache file %s: %s", p, exc)
            return None
        self.corrupt.pop(int(centroid_id), None)
        self._parsed[int(centroid_id)] = (key, pickle.dumps(record))
        return record

    def set(self, explanation: CentroidExplanation) -> None:
        data = explanation.to_dict()
        atomic_write_text(self.path(explanation.centroid_id), json.dumps(data, indent=2, ensure_ascii=False))

    def has(self, centroid_id: int) -> bool:
        return self.get(centroid_id) is not None

    def delete(self, centroid_id: int) -> bool:
        try:
            self.path(centroid_id).unlink()
            return True
        except FileNotFoundError:
            return False

    def clear(self) -> None:
        for p in self.cache_dir.glob("centroid_*.json"):
            p.unlink(missing_ok=True)
        self.corrupt.clear()

    def ids(self) -> list[int]:
        out = []
        for p in self.cache_dir.glob("centroid_*.json"):
            try:
                out.append(int(p.stem.split("_", 1)[1]))
            except ValueError:
                continue
        return sorted(out)

    def all(self) -> list[CentroidExplanation]:
        return [e for e in (self.get(i) for i in self.ids()) if e is not None]

    def as_records(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.all()]
