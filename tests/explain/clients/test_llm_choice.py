"""The user's choice of LLM becomes one plan where it is chosen; the facade and the stages only pass it on."""

import asyncio
import json
import re

import pytest

from autointerp.errors import InputError
from autointerp.explain.clients import ClientSettings, OpenAICompatibleClient, Provider
from autointerp.explain.clients.protocol import GenerateAdapter
from autointerp.explain.explainers.llm import LLMExplainer
from autointerp.explain.explainers.local_lm import LocalLabelChooser
from autointerp.explain.explainers.offline import OfflineExplainer
from autointerp.explain.llm_choice import OFFLINE, ExplainPlan, make_plan


class Writer:
    """The documented custom client: generate(prompt) only."""

    def generate(self, prompt: str) -> str:
        return json.dumps({"explanation": "commas", "confidence": 0.5})


def test_each_provider_resolves_to_its_explainer_scorer_and_writer(tiny_model):
    assert make_plan(ClientSettings(Provider.OFFLINE)) is OFFLINE and OFFLINE.offline
    local = make_plan(ClientSettings(Provider.LOCAL), tiny_model)
    assert isinstance(local.explainer, LocalLabelChooser) and local.scorer_client is None and local.text_client is None
    http = make_plan(ClientSettings(Provider.OPENAI, base_url="http://127.0.0.1:9/v1", api_key="k"))
    assert isinstance(http.explainer, LLMExplainer) and isinstance(http.scorer_client, OpenAICompatibleClient)
    assert http.explainer.client is http.scorer_client is http.text_client and not http.offline
    custom = ExplainPlan.of(Writer())
    assert isinstance(custom.text_client, GenerateAdapter) and custom.scorer_client is None  # never a detector
    assert custom.explainer is not None and custom.explainer.name == "llm:custom:Writer"


def test_a_plan_is_kept_as_it_is_and_the_default_explainer_fills_in_offline():
    plan = make_plan(ClientSettings(Provider.ANTHROPIC, api_key="k"))
    assert ExplainPlan.of(plan) is plan and ExplainPlan.of(None) is OFFLINE
    own = OfflineExplainer()
    assert OFFLINE.explainer_or(own) is own and plan.explainer_or(own) is plan.explainer
    chooser = ExplainPlan.of(own)  # an explainer passed by a library caller is the plan's explainer
    assert chooser.explainer is own and chooser.scorer_client is None


def test_anything_else_is_refused_in_one_line():
    with pytest.raises(InputError, match="got int"):
        ExplainPlan.of(3)  # type: ignore[arg-type]


def answer(prompt: str):
    """Explains in free text; labels every held-out example 0 when asked to detect."""
    if "one key per example" in prompt:
        n = len(re.findall(r"^\d+\. ", prompt, re.M))
        return 200, json.dumps({str(i + 1): 0 for i in range(n)}), 0
    return 200, json.dumps({"explanation": "Where a reader would pause", "confidence": 1}), 0


def test_the_facade_runs_a_plan_as_it_runs_the_client_it_was_made_from(tiny_interp, llm_server):
    """Generation, scoring and the stale check all read the one plan the CLI or dashboard made."""
    srv = llm_server(answer)
    plan = make_plan(ClientSettings(Provider.OPENAI, base_url=f"{srv.url}/v1", api_key="k", retries=0))
    cid = int(tiny_interp.validation.index.counts.argmax())
    e = asyncio.run(tiny_interp.get_or_generate_explanation(cid, llm_client=plan))
    assert e.info.explainer == plan.explainer.name == "llm:openai-compatible"
    assert e.info.prompt_version == plan.explainer.prompt_version and tiny_interp.stale_reasons(e, plan) == []
    n = len(srv.calls)
    again = asyncio.run(tiny_interp.get_or_generate_explanation(cid, llm_client=plan))  # cached under this plan
    assert again.explanation == e.explanation and again.timestamp == e.timestamp
    assert len(srv.calls) == n
