"""Corpora: the embedded Wikipedia sample, users' own files, and a deterministic three-way split."""

from __future__ import annotations

import bz2
import csv
import hashlib
import importlib.util
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autointerp.config import EMBEDDED_CORPUS
from autointerp.errors import CorpusError

WIKI_FILE = "test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
WIKI_ATTRIBUTION = (
    "Corpus text: English Wikipedia (sample shipped in the gensim wheel), "
    "licensed CC BY-SA 4.0, https://creativecommons.org/licenses/by-sa/4.0/ — "
    "authors: Wikipedia contributors, https://en.wikipedia.org"
)
SPLITS = ("train", "val", "heldout")


@dataclass
class Document:
    text: str
    source: str = ""


@dataclass
class TokenWindows:
    """Token windows of one split; `doc_ids` point back into the document list for attribution."""

    windows: list[list[int]] = field(default_factory=list)
    doc_ids: list[int] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)  # first token's index inside its document

    @property
    def n_tokens(self) -> int:
        return sum(len(w) for w in self.windows)


def _strip_nested(text: str, open_: str, close: str) -> str:
    pattern = re.compile(
        re.escape(open_) + r"(?:(?!" + re.escape(open_) + r")(?!" + re.escape(close) + r").)*?" + re.escape(close), re.S
    )
    prev = None
    while prev != text:
        prev = text
        text = pattern.sub("", text)
    return text


def clean_wikitext(raw: str) -> list[str]:
    """Keep prose paragraphs; drop markup, templates, tables, references and lists."""
    t = re.sub(r"<!--.*?-->", "", raw, flags=re.S)
    t = re.sub(r"<ref[^>]*/>", "", t)
    t = re.sub(r"<ref[^>]*>.*?</ref>", "", t, flags=re.S)
    t = _strip_nested(t, "{{", "}}")
    t = _strip_nested(t, "{|", "|}")
    t = re.sub(r"\[\[(?:File|Image|Category|[a-z]{2,3}(?:-[a-z]+)?):[^\[\]]*(?:\[\[[^\]]*\]\][^\[\]]*)*\]\]", "", t)
    t = re.sub(r"\[\[[^\]|]*\|([^\]]*)\]\]", r"\1", t)
    t = re.sub(r"\[\[([^\]]*)\]\]", r"\1", t)
    t = re.sub(r"\[https?://[^\s\]]+ ([^\]]*)\]", r"\1", t)
    t = re.sub(r"\[https?://[^\]]*\]", "", t)
    t = re.sub(r"'{2,}", "", t)
    t = re.sub(r"<[^>]+>", "", t)
    t = t.replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    out = []
    for line in t.split("\n"):
        line = re.sub(r"\s+", " ", line).strip()
        if not line or line[0] in "=*#:;|!{}[" or line.startswith("__"):
            continue
        if len(line.split()) < 12 or not re.search(r"[.!?]$", line):
            continue
        if re.search(r"[{}\[\]|]", line):
            continue
        out.append(line)
    return out


def embedded_wiki_path() -> Path:
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise CorpusError(
            "the embedded corpus needs the `gensim` wheel: pip install --no-deps -r requirements-embedded.txt"
        )
    path = Path(spec.submodule_search_locations[0]) / WIKI_FILE
    if not path.exists():
        raise CorpusError(f"the Wikipedia sample is missing from the gensim install ({path})")
    return path


def read_embedded_wiki() -> list[Document]:
    docs: list[Document] = []
    with bz2.open(embedded_wiki_path(), "rb") as fh:
        title = ""
        for _, elem in ET.iterparse(fh, events=("end",)):
            tag = elem.tag.rsplit("}", 1)[-1]
            if tag == "title":
                title = elem.text or ""
            elif tag == "text":
                for para in clean_wikitext(elem.text or ""):
                    docs.append(Document(para, f"https://en.wikipedia.org/wiki/{title.replace(' ', '_')}"))
            elif tag == "page":
                elem.clear()
    return docs


def _paragraphs(text: str) -> list[str]:
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text)]
    blocks = [b for b in blocks if b]
    if len(blocks) <= 1:
        blocks = [line.strip() for line in text.splitlines() if line.strip()]
    return blocks


def read_corpus(spec: str, text_field: str = "text") -> list[Document]:
    """`embedded:enwiki`, or a .txt (blank-line or line separated), .jsonl or .csv file."""
    if spec == EMBEDDED_CORPUS or spec == "embedded":
        docs = read_embedded_wiki()
    else:
        path = Path(os.path.expanduser(spec))
        if not path.is_file():
            raise CorpusError(f"corpus file {spec!r} does not exist")
        try:
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CorpusError(f"cannot read corpus {spec!r} as UTF-8 text: {exc}") from exc
        suffix = path.suffix.lower()
        if suffix in (".jsonl", ".ndjson"):
            docs = list(_jsonl_docs(raw, text_field, spec))
        elif suffix == ".csv":
            docs = list(_csv_docs(raw, text_field, spec))
        else:
            docs = [Document(p, spec) for p in _paragraphs(raw)]
    docs = [d for d in docs if d.text.strip()]
    if not docs:
        raise CorpusError(f"corpus {spec!r} holds no text")
    return docs


def _jsonl_docs(raw: str, text_field: str, spec: str) -> Iterator[Document]:
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{spec}: line {n} is not JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or text_field not in row:
            raise CorpusError(f"{spec}: line {n} has no {text_field!r} field")
        yield Document(str(row[text_field]), f"{spec}:{n}")


def _csv_docs(raw: str, column: str, spec: str) -> Iterator[Document]:
    reader = csv.DictReader(raw.splitlines())
    if reader.fieldnames is None or column not in reader.fieldnames:
        raise CorpusError(f"{spec}: no column {column!r} (columns: {reader.fieldnames})")
    for n, row in enumerate(reader, 2):
        yield Document(str(row[column] or ""), f"{spec}:{n}")


def split_of(text: str, seed: int) -> str:
    """Deterministic split by content hash: 60% train, 25% validation, 15% held-out."""
    h = int(hashlib.sha1(f"{seed}:{text}".encode()).hexdigest()[:8], 16) % 100
    return "train" if h < 60 else "val" if h < 85 else "heldout"


def make_windows(
    docs: list[Document], tokenizer: Any, window: int, budgets: dict[str, int], seed: int
) -> dict[str, TokenWindows]:
    """Tokenise documents in a seeded order and cut them into windows until each split's budget is met."""
    order = sorted(range(len(docs)), key=lambda i: hashlib.sha1(f"{seed}:{i}:{docs[i].text}".encode()).hexdigest())
    out = {s: TokenWindows() for s in SPLITS}
    filled = {s: 0 for s in SPLITS}
    for i in order:
        split = split_of(docs[i].text, seed)
        if filled[split] >= budgets[split]:
            if all(filled[s] >= budgets[s] for s in SPLITS):
                break
            continue
        ids = tokenizer(docs[i].text, add_special_tokens=False)["input_ids"]
        for start in range(0, len(ids), window):
            chunk = ids[start : start + window]
            if len(chunk) < 4 or filled[split] >= budgets[split]:
                break
            out[split].windows.append(chunk)
            out[split].doc_ids.append(i)
            out[split].starts.append(start)
            filled[split] += len(chunk)
    for s in SPLITS:
        if not out[s].windows:
            raise CorpusError(f"the corpus is too small: the {s} split got no text (need more documents)")
    return out


PAD = -1


def pad_windows(windows: list[list[int]], width: int | None = None) -> np.ndarray:
    """Windows as one int32 array, right-padded with PAD, as stored in a workspace."""
    width = width or max((len(w) for w in windows), default=1)
    arr = np.full((len(windows), width), PAD, dtype=np.int32)
    for i, w in enumerate(windows):
        arr[i, : len(w)] = w[:width]
    return arr
