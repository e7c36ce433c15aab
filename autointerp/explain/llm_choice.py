"""What the user's choice of LLM means, resolved once: the explainer, the detection scorer, the text writer.

The CLI and the dashboard resolve it where the user chooses (`make_plan`); the facade
resolves whatever a library caller passes once per call (`ExplainPlan.of`). The stages below take the
resolved `ExplainPlan` and never look at the client's kind again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from autointerp.errors import InputError
from autointerp.explain.clients.factory import ClientSettings, make_client
from autointerp.explain.clients.protocol import GenerateAdapter, GenerateClient, LLMClient
from autointerp.explain.explainers.contract import Explainer
from autointerp.explain.explainers.llm import LLMExplainer


@dataclass(frozen=True)
class ExplainPlan:
    """One choice of LLM, resolved. `explainer` None means the workspace's own (offline) explainer, so one
    plan serves every layer of a stack."""

    explainer: Explainer | None = None
    scorer_client: LLMClient | None = None  # can label held-out examples (detection scoring)
    text_client: LLMClient | None = None  # can write text (meta-interpretation)

    @property
    def offline(self) -> bool:
        return self.explainer is None

    def explainer_or(self, default: Explainer) -> Explainer:
        """The explainer this plan runs, `default` being the workspace's own."""
        return self.explainer if self.explainer is not None else default

    @classmethod
    def of(cls, choice: LLMChoice) -> ExplainPlan:
        """A caller's `llm_client` argument as a plan (a plan is kept as it is): nothing (offline), an
        explainer (e.g. the local label chooser), an LLMClient, or an object with generate(prompt)."""
        if choice is None:
            return OFFLINE
        if isinstance(choice, ExplainPlan):
            return choice
        for kind, resolve in _BY_KIND:  # first match: an explainer may also have other methods
            if isinstance(choice, kind):
                return resolve(choice)
        raise InputError(
            "llm_client must be an LLM client (complete()), an object with generate(prompt), or an explainer; "
            f"got {type(choice).__name__}"
        )


OFFLINE = ExplainPlan()


def _from_client(client: LLMClient) -> ExplainPlan:
    return ExplainPlan(LLMExplainer(client), client, client)


def _from_generate(client: GenerateClient) -> ExplainPlan:
    adapter = GenerateAdapter(client)  # writes text, but cannot be trusted to label examples
    return ExplainPlan(LLMExplainer(adapter), None, adapter)


# The kinds of object a caller may pass, by the protocol each satisfies, in the order they are tried.
_BY_KIND: tuple[tuple[type, Callable[[Any], ExplainPlan]], ...] = (
    (Explainer, ExplainPlan),
    (LLMClient, _from_client),
    (GenerateClient, _from_generate),
)

# What callers may pass as `llm_client`: nothing (offline), an explainer, an LLMClient (our HTTP clients),
# the documented custom object with generate(prompt), or a plan already resolved.
LLMChoice = LLMClient | Explainer | GenerateClient | ExplainPlan | None


def make_plan(settings: ClientSettings, lm: Any = None) -> ExplainPlan:
    """The user's choice (CLI flags, dashboard sidebar) as the plan every later call receives; `lm` is the
    loaded model, needed only by the local label chooser."""
    return ExplainPlan.of(make_client(settings, lm))
