"""A local transformers model choosing among the offline explainer's candidate labels.

Small models such as the embedded SmolLM2-135M are poor at free-form explanation but can rank a few
candidate labels. Each label is scored by its mean log-probability after a prompt showing the cluster's
examples, minus its mean log-probability after a content-free prompt (a calibration against the label's
prior). The chosen candidate is still a rule, so its confidence is measured exactly on held-out tokens.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import torch

from autointerp.core.models import model_lock
from autointerp.explain.explainers.contract import ClusterEvidence, ExplanationDraft, Rule
from autointerp.explain.explainers.offline import OfflineExplainer, concept_parts, label_for
from autointerp.explain.prompts.local import PROMPT_VERSION, choice_prompt, null_prompt

MAX_GAP = 0.1  # candidates are at most this far below the best rule's validation score
IDS = re.compile(r" \((?:WordNet|spaCy entity) [^)]*\)")


def _kind(rule: Rule) -> str:
    if concept_parts(rule) is not None:
        return "concept"
    term = rule.terms[0] if rule.terms else frozenset()
    return "tokens" if len(rule.terms) > 1 else "context" if len(term) > 1 else "single"


class LocalLabelChooser:
    prompt_version = PROMPT_VERSION
    reads_context = True

    def __init__(self, model: Any, tokenizer: Any | None = None, candidates: int = 4, examples: int = 12):
        self.hf = getattr(model, "_model", model)  # an nnterp model wraps the HF module
        self.tokenizer = tokenizer or model.tokenizer
        self.candidates = candidates
        self.examples = examples
        self.offline = OfflineExplainer()
        self.model = str(getattr(getattr(self.hf, "config", None), "_name_or_path", type(self.hf).__name__))
        self.name = "local-lm-choice"

    def _prompt(self, evidence: ClusterEvidence) -> str:
        toks = [t for band in evidence.bands for t in band[: max(1, self.examples // max(1, len(evidence.bands)))]]
        return choice_prompt(toks[: self.examples])

    @torch.no_grad()
    def _logprob(self, prompt: str, continuation: str) -> float:
        p = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        c = self.tokenizer(" " + continuation, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([p + c], device=next(self.hf.parameters()).device)
        with model_lock(self.hf):  # never while a trace runs on the same model
            logits = self.hf(input_ids=ids).logits[0, len(p) - 1 : -1].float()
        lp = torch.log_softmax(logits, -1).gather(1, torch.tensor(c, device=logits.device)[:, None])
        return float(lp.mean())

    def candidates_for(self, evidence: ClusterEvidence) -> list[tuple[Rule, float]]:
        """The best rule of each kind (concept, category, token set, in-context) within MAX_GAP of the best
        on validation, then the next best, distinct by label: the model chooses meaning only among rules
        that nearly hold."""
        ranked = self.offline.ranked_rules(evidence, 400)
        if not ranked:
            return []
        near = [(r, v) for r, v in ranked if v >= ranked[0][1] - MAX_GAP]
        best_of_kind: dict[str, tuple[Rule, float]] = {}
        for rule, val in near:
            best_of_kind.setdefault(_kind(rule), (rule, val))
        out: list[tuple[Rule, float]] = []
        seen: set[str] = set()
        for rule, val in [*sorted(best_of_kind.values(), key=lambda rv: -rv[1]), *near]:
            label = label_for(rule)
            if label not in seen and len(out) < self.candidates:
                out.append((rule, val))
                seen.add(label)
        return sorted(out, key=lambda rv: -rv[1])

    def choose(self, evidence: ClusterEvidence, ranked: list[tuple[Rule, float]]) -> tuple[int, list[dict[str, Any]]]:
        """Which of the candidate rules the model finds likeliest for these examples, and every score."""
        prompt = self._prompt(evidence)
        null = null_prompt()
        scores: list[dict[str, Any]] = []
        for rule, val in ranked:
            label = label_for(rule)
            spoken = IDS.sub("", label)  # the model reads "Animals or plants", not "(WordNet noun.animal | ...)"
            s = self._logprob(prompt, spoken) - self._logprob(null, spoken)
            scores.append({"label": label, "calibrated_logprob": round(s, 4), "validation_score": round(val, 4)})
        best = max(range(len(scores)), key=lambda i: float(scores[i]["calibrated_logprob"]))
        return best, scores

    async def explain(self, evidence: ClusterEvidence) -> ExplanationDraft:
        if not evidence.members:
            return await self.offline.explain(evidence)
        candidates = self.candidates_for(evidence)  # ranked once: the choice and the draft use the same list
        best, scores = await asyncio.to_thread(self.choose, evidence, candidates)
        rule = candidates[best][0]
        draft = self.offline.draft(evidence, rule, explainer=self.name, model=self.model, extra={"candidates": scores})
        draft.prompt_version = PROMPT_VERSION
        return draft
