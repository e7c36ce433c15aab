"""Why explanations failed or lost their LLM score, grouped by reason: one report for the CLI and dashboard."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from autointerp.formatting import count_text
from autointerp.records import CentroidExplanation, Status

FAILED = "failed"  # no explanation: the explainer failed; nothing was cached
SCORING_FAILED = "scoring failed"  # the explanation was kept: unscored, or scored exactly from its rule


@dataclass
class ReasonGroup:
    outcome: str
    reason: str
    first_message: str
    centroid_ids: list[int] = field(default_factory=list)


def failure_groups(records: Iterable[CentroidExplanation]) -> list[ReasonGroup]:
    """Failed and scoring-failed records grouped by (outcome, reason), in order of first appearance."""
    groups: dict[tuple[str, str], ReasonGroup] = {}
    for r in records:
        if not r.info.error:
            continue
        outcome = FAILED if r.status is Status.FAILED else SCORING_FAILED
        key = (outcome, r.info.error_reason or "LLM error")
        group = groups.setdefault(key, ReasonGroup(outcome, key[1], r.info.error))
        group.centroid_ids.append(r.centroid_id)
    return list(groups.values())


def _ids(ids: list[int], most: int = 8) -> str:
    shown = ", ".join(str(i) for i in sorted(ids)[:most])
    return shown + (f" and {len(ids) - most} more" if len(ids) > most else "")


def describe_failures(records: Iterable[CentroidExplanation]) -> list[str]:
    """Lines for a person: how many failed per reason, with the first message of each reason."""
    groups = failure_groups(records)
    lines: list[str] = []
    for outcome, title in (
        (FAILED, "{n} centroid(s) got no explanation (nothing was cached):"),
        (SCORING_FAILED, "{n} explanation(s) were kept, but the LLM could not score them:"),
    ):
        mine = [g for g in groups if g.outcome == outcome]
        if not mine:
            continue
        lines.append(title.format(n=sum(len(g.centroid_ids) for g in mine)))
        for g in mine:
            n, ids = len(g.centroid_ids), _ids(g.centroid_ids)
            lines.append(f"  {g.reason}: {n} (centroids {ids}), first: {g.first_message}")
    return lines


def failures_markdown(records: Iterable[CentroidExplanation]) -> str:
    """The same report as a nested Markdown list (the dashboard's warnings); empty when nothing failed."""
    return "\n".join(("    - " if line.startswith(" ") else "- ") + line.strip() for line in describe_failures(records))


def stand_in_note(records: Iterable[CentroidExplanation], requested: str) -> str:
    """What a view must say when cached explanations made by another explainer (offline rules, a person)
    stand in for the requested one; empty when every explanation shown is the requested explainer's.
    Centroids it failed on are reported by `describe_failures`."""
    recs = list(records)
    others = Counter(
        r.info.explainer or "unknown" for r in recs if r.status is not Status.FAILED and r.info.explainer != requested
    )
    if not others:
        return ""
    by = ", ".join(f"{n} by {name}" for name, n in others.most_common())
    return (
        f"Not the requested explainer: {count_text(sum(others.values()), 'centroid')} of {len(recs)} show cached "
        f"explanations not made by {requested} ({by}). Regenerate them to replace them (dashboard: Cache review, "
        "Regenerate; command line: `explain --force`)."
    )
