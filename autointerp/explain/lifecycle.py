"""The explanation lifecycle: generate from validation evidence, measure on held-out tokens, cache,
reuse while current, edit, accept, and explain many centroids at once."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autointerp.core.space import CentroidSpace
from autointerp.errors import InputError, LLMError
from autointerp.explain.explainers.contract import Explainer, ExplanationDraft, Rule
from autointerp.explain.explainers.parse import rule_from_text
from autointerp.explain.explanation_cache import CentroidExplanationCache
from autointerp.explain.llm_choice import OFFLINE, ExplainPlan
from autointerp.explain.provenance import centroid_hash, stale_reasons
from autointerp.explain.scorers.detection import DetectionScorer, UnscoredScorer
from autointerp.explain.scorers.exact import RuleScorer
from autointerp.explain.splits import SplitView
from autointerp.formatting import count_text
from autointerp.records import (
    CentroidExplanation,
    ExplanationInfo,
    Provenance,
    ScoreResult,
    ScoringConfig,
    Status,
    ValidationExample,
    now_iso,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    """What every explanation of this workspace describes, before the centroid itself."""

    model: str
    layer: int
    site: str
    corpus: str


@dataclass
class ExplainCounts:
    cached: int = 0
    generated: int = 0
    failed: int = 0
    unscored: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # failed generations: reason -> how many
    # records of this run that failed, or were kept although their LLM scoring failed (see outcomes.py)
    problems: list[CentroidExplanation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cached": self.cached,
            "generated": self.generated,
            "failed": self.failed,
            "unscored": self.unscored,
            "failures": dict(self.failures),
        }


@dataclass
class ImportReport:
    """What an import did, by centroid: kept as cached, measured here, or kept unmeasured."""

    unchanged: list[int] = field(default_factory=list)
    measured: list[int] = field(default_factory=list)
    not_measured: list[int] = field(default_factory=list)

    def describe(self) -> str:
        """`Imported 3 explanations.` and what became of them: a person must see that no file score was used."""
        n = len(self.unchanged) + len(self.measured) + len(self.not_measured)
        parts = [
            f"{len(self.unchanged)} kept the cached record (same text)" if self.unchanged else "",
            f"{len(self.measured)} with new text measured on held-out tokens" if self.measured else "",
            f"{len(self.not_measured)} with new text not measured (it reads as no rule, and no LLM scorer is chosen)"
            if self.not_measured
            else "",
        ]
        said = "; ".join(x for x in parts if x)
        return (
            f"Imported {count_text(n, 'explanation')}."
            + (f" {said[0].upper()}{said[1:]}." if said else "")
            + (" Confidences in the file are never used." if n else "")
        )


class Explanations:
    def __init__(
        self,
        cache: CentroidExplanationCache,
        space: CentroidSpace,
        identity: Identity,
        validation: SplitView | None,
        heldout: SplitView | None,
        explainer: Explainer,
        scoring: ScoringConfig,
    ):
        self.cache = cache
        self.space = space
        self.identity = identity
        self.validation = validation
        self.heldout = heldout
        self.explainer = explainer
        self.scoring = scoring
        self._hashes = [centroid_hash(c) for c in space.centroids]
        concepts = validation.texts.concepts if validation is not None else None
        self._vocabulary = concepts.table.vocabulary() if concepts is not None else {}

    def read_rule(self, text: str) -> Rule | None:
        """Free text (a person's edit, an LLM's explanation) read back into a rule that can be scored
        exactly: concepts this workspace's tokens carry, word classes, quoted tokens (explainers/parse.py)."""
        return rule_from_text(text, self._vocabulary)

    def provenance(self, centroid_id: int) -> Provenance:
        i = self.identity
        return Provenance(
            i.model,
            i.layer,
            i.site,
            self._hashes[centroid_id],
            i.corpus,
            self.space.normalisation,
            self.scoring.label(),
        )

    def examples(self, centroid_id: int, n_examples: int = 10) -> list[ValidationExample]:
        cid = self.space.check_id(centroid_id)
        if n_examples < 0:  # the facade calls it k
            raise InputError(f"k must be >= 0, got {n_examples}")
        return self.validation.examples(cid, n_examples) if self.validation is not None else []

    async def _score(self, draft: ExplanationDraft, cid: int, plan: ExplainPlan) -> tuple[ScoreResult, LLMError | None]:
        """Exactly when the explanation is a rule or its text reads as one (the rule is then kept on the
        draft, so the record shows what was measured); else by LLM detection; else unscored. A failed
        scorer never becomes a score: the explanation is kept, unscored, and the failure is returned so
        the record can say why."""
        if draft.rule is None:
            draft.rule = self.read_rule(draft.explanation)
            if draft.rule is not None:
                draft.evidence["rule_read_from_text"] = True
        if self.heldout is None:
            return ScoreResult("none", None, status=Status.INSUFFICIENT_DATA, detail="no held-out data"), None
        detector = plan.scorer_client if draft.rule is None else None  # only LLM detection reads contexts
        data = self.heldout.sampler.scoring_set(cid, context=detector is not None)
        failure: LLMError | None = None
        if detector is not None:
            detection = DetectionScorer(detector, self.scoring.detection_sample, self.scoring.seed)
            try:
                return await detection.score(draft, data), None
            except LLMError as exc:
                failure = LLMError(f"LLM detection scoring failed: {exc}", exc.reason)
        if draft.rule is not None:
            return await RuleScorer().score(draft, data), failure
        return await UnscoredScorer(str(failure or "") or UnscoredScorer().detail).score(draft, data), failure

    async def generate(
        self, centroid_id: int, examples: list[ValidationExample] | None = None, plan: ExplainPlan = OFFLINE
    ) -> CentroidExplanation:
        """Explain from validation evidence, then measure on held-out tokens.

        Raises LLMError when generation fails: a failure is never returned as a low score."""
        cid = self.space.check_id(centroid_id)
        examples = examples if examples is not None else self.examples(cid)
        texts = [e.text for e in examples]
        if self.validation is None:
            info = ExplanationInfo(Status.NO_DATA, self.provenance(cid))
            return CentroidExplanation(cid, "Unexplained: no validation data was given", 0.0, texts, info=info)
        explainer = plan.explainer_or(self.explainer)
        evidence = self.validation.sampler.evidence(cid, context=explainer.reads_context)
        draft = await explainer.explain(evidence)
        score, failure = await self._score(draft, cid, plan)
        info = ExplanationInfo(
            status=Status.SCORED if score.ok else score.status,
            provenance=self.provenance(cid),
            explainer=draft.explainer,
            explainer_model=draft.model,
            prompt_version=draft.prompt_version,
            score=score,
            rule=draft.rule.to_json() if draft.rule is not None else None,
            evidence={k: v for k, v in draft.evidence.items() if k not in ("rule", "flags")},
            flags=list(draft.evidence.get("flags", evidence.flags)),
            population=evidence.population,
            neighbours=evidence.neighbours,
            stated_confidence=draft.stated_confidence,
            error=str(failure) if failure else None,
            error_reason=failure.reason if failure else None,
        )
        return CentroidExplanation(cid, draft.explanation, score.confidence, texts, info=info)

    def stale_reasons(self, explanation: CentroidExplanation, plan: ExplainPlan = OFFLINE) -> list[str]:
        explainer = plan.explainer_or(self.explainer)
        current = (explainer.name, getattr(explainer, "prompt_version", None) or "")
        return stale_reasons(explanation.info, self.provenance(explanation.centroid_id), current)

    def cached(self, centroid_id: int, plan: ExplainPlan = OFFLINE) -> CentroidExplanation | None:
        """The cached explanation if it is still current."""
        cached = self.cache.get(centroid_id)
        if cached is None:
            return None
        reasons = self.stale_reasons(cached, plan)
        if reasons:
            log.info("centroid %d: cached explanation is stale (%s)", centroid_id, "; ".join(reasons))
            return None
        return cached

    async def get_or_generate(
        self, centroid_id: int, n_examples: int = 10, plan: ExplainPlan = OFFLINE, force_regenerate: bool = False
    ) -> CentroidExplanation:
        """Cached unless forced or stale. A failed generation is returned marked failed and never cached."""
        cid = self.space.check_id(centroid_id)
        if not force_regenerate and (hit := self.cached(cid, plan)) is not None:
            return hit
        try:
            expl = await self.generate(cid, self.examples(cid, n_examples), plan)
        except LLMError as exc:
            info = ExplanationInfo(Status.FAILED, self.provenance(cid), error=str(exc), error_reason=exc.reason)
            return CentroidExplanation(cid, "Unexplained: the LLM failed", 0.0, [], info=info)
        if expl.status.cacheable:
            self.cache.set(expl)
        return expl

    async def edit(self, centroid_id: int, text: str, plan: ExplainPlan = OFFLINE) -> CentroidExplanation:
        """Save a human edit, marked as such, and measure it on held-out data.

        An edit is scored exactly when it reads as a rule (a category, concept, quoted tokens, "after
        'x'"); otherwise through an LLM client that can run detection; otherwise it is kept *unscored*."""
        cid = self.space.check_id(centroid_id)
        record = await self._edited(cid, text, plan)
        self.cache.set(record)
        return record

    async def _edited(self, cid: int, text: str, plan: ExplainPlan, imported: str | None = None) -> CentroidExplanation:
        """The record of a text a person wrote (typed, or `imported` from a file), measured here."""
        text = (text or "").strip()
        if not text:
            raise InputError(f"centroid {cid}: an explanation cannot be empty")
        old = self.cache.get(cid)
        draft = ExplanationDraft(text, "human")
        score, failure = await self._score(draft, cid, plan)
        rule = draft.rule
        base = old.info if old else ExplanationInfo()
        info = ExplanationInfo(
            status=Status.SCORED if score.ok else score.status,
            provenance=self.provenance(cid),
            explainer="human",
            score=score,
            rule=rule.to_json() if rule else None,
            evidence={**base.evidence, "rule_read_from_text": rule is not None},
            flags=base.flags,
            population=base.population,
            neighbours=base.neighbours,
            human_edited=True,
            imported=imported,
            previous_explanation=old.explanation if old else None,
            error=str(failure) if failure else None,
            error_reason=failure.reason if failure else None,
        )
        examples = old.top_k_examples if old else [e.text for e in self.examples(cid)]
        return CentroidExplanation(cid, text, score.confidence, examples, info=info)

    async def import_records(self, records: list[CentroidExplanation], plan: ExplainPlan = OFFLINE) -> ImportReport:
        """Records read from a file; a confidence from a file is never trusted. A record whose text is the one
        the cache holds leaves the cached record (and its measured score) as it is; any other text is
        measured here as an edit is, and marked imported and human-edited. Nothing is written until every
        record has been scored."""
        report, new = ImportReport(), []
        when = now_iso()
        for r in records:
            cid = self.space.check_id(r.centroid_id)
            old = self.cache.get(cid)
            if old is not None and old.explanation.strip() == r.explanation.strip():
                report.unchanged.append(cid)
                continue
            rec = await self._edited(cid, r.explanation, plan, imported=when)
            (report.measured if rec.measured else report.not_measured).append(cid)
            new.append(rec)
        for rec in new:
            self.cache.set(rec)
        return report

    def accept(self, centroid_id: int) -> CentroidExplanation:
        cid = self.space.check_id(centroid_id)
        e = self.cache.get(cid)
        if e is None:
            raise InputError(f"centroid {cid} has no cached explanation to accept")
        e.info.accepted = now_iso()
        self.cache.set(e)
        return e

    async def explain_all(
        self,
        ids: list[int],
        force: bool = False,
        concurrency: int = 4,
        plan: ExplainPlan = OFFLINE,
        on_done: Callable[[int, int], None] | None = None,
    ) -> ExplainCounts:
        """Explain many centroids with bounded concurrency; current cache entries are kept, so a rerun resumes."""
        for cid in ids:
            self.space.check_id(cid)
        sem = asyncio.Semaphore(max(1, concurrency))
        counts = ExplainCounts()

        async def one(cid: int) -> None:
            async with sem:
                hit = None if force else self.cached(cid, plan)
                e = hit or await self.get_or_generate(cid, plan=plan, force_regenerate=True)
                if hit is not None:
                    counts.cached += 1
                elif e.status is Status.FAILED:
                    counts.failed += 1
                    counts.failures[e.info.error_reason or "LLM error"] += 1
                else:
                    counts.generated += 1
                    counts.unscored += e.status is Status.UNSCORED
                if hit is None and e.info.error:
                    counts.problems.append(e)
                if on_done is not None:
                    on_done(counts.cached + counts.generated + counts.failed, len(ids))

        await asyncio.gather(*(one(i) for i in ids))
        return counts
