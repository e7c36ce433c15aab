"""Sections that one bench script owns inside bench/README.md, between `<!-- NAME:begin -->` and
`<!-- NAME:end -->`: rewritten by that script from its own run, and kept as they are when bench/report.py
regenerates the rest."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


def marked(name: str, body: str) -> str:
    return f"<!-- {name}:begin -->\n{body.strip()}\n<!-- {name}:end -->"


def write_section(name: str, body: str, readme: Path = README) -> None:
    """Replace the section `name` in the README, or append it when it is not there yet."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = readme.read_text(encoding="utf-8")
    section = marked(name, body)
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    readme.write_text(text, encoding="utf-8")
