"""Rewrite the README's sample output from a real run of the CLI on the default workspace, so it cannot drift.

    .venv/bin/python scripts/readme_sample.py           # builds the default workspace first if needed
    .venv/bin/python scripts/readme_sample.py --check   # exit 1 if the README's block is out of date

Everything between the README's `readme-sample:begin` and `readme-sample:end` markers is replaced by what the
commands below print, verbatim, plus the spread of confidences over all centroids, read from the cache.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BEGIN, END = "<!-- readme-sample:begin -->", "<!-- readme-sample:end -->"
SENTENCE = "The quick brown fox jumps over the lazy dog."
CLI = [".venv/bin/python", "-m", "autointerp"]


def run(args: list[str]) -> str:
    """Run the real CLI from the repository root, as a reader would, and return what it printed."""
    out = subprocess.run([sys.executable, "-m", "autointerp", *args], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"`{' '.join(CLI + args)}` failed:\n{out.stderr}")
    return out.stdout.rstrip("\n")


def confidence_spread(workspace: Path) -> str:
    recs = [json.loads(p.read_text()) for p in sorted((workspace / "explanations").glob("centroid_*.json"))]
    scored = [r["confidence"] for r in recs if r.get("metadata", {}).get("status") == "scored"]
    if not scored:
        return "No centroid has a measured confidence yet."
    return (
        f"Across the {len(recs)} explained centroids, {len(scored)} have a measured confidence, from "
        f"{min(scored):.2f} to {max(scored):.2f} (median {statistics.median(scored):.2f})."
    )


def sample_block() -> str:
    workspace = Path(run(["build"]).splitlines()[-1])
    if not workspace.is_absolute():
        workspace = ROOT / workspace
    cfg = json.loads((workspace / "config.json").read_text())
    analyze = run(["analyze", "--workspace", str(workspace), SENTENCE])
    meta = run(["meta", "--workspace", str(workspace), SENTENCE])
    return "\n".join(
        [
            BEGIN,
            f"Produced by `scripts/readme_sample.py`, which runs `python -m autointerp build` (layer {cfg['layer']}, "
            f"k={cfg['k']}, {cfg['train_tokens']:,} training tokens; the build explains every centroid offline) "
            "and then:",
            "",
            "```text",
            f'$ {" ".join(CLI)} analyze "{SENTENCE}"',
            analyze,
            "```",
            "",
            "```text",
            f'$ {" ".join(CLI)} meta "{SENTENCE}"',
            meta,
            "```",
            "",
            confidence_spread(workspace),
            END,
        ]
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="only check that the README is up to date")
    a = p.parse_args()
    text = README.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        sys.exit(f"README.md lacks the {BEGIN} … {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = head + sample_block() + tail
    if a.check:
        if new != text:
            print("README.md's sample output is out of date: run scripts/readme_sample.py", file=sys.stderr)
            return 1
        print("README.md's sample output is current")
        return 0
    README.write_text(new, encoding="utf-8")
    print("README.md: sample output rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
