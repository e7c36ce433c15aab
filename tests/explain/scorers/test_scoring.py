"""Scores must mean something: the right explanation scores high, a wrong one near chance."""

import asyncio

import pytest

from autointerp.explain.explainers.contract import ExplanationDraft, Rule, TokenEvidence
from autointerp.explain.scorers.balanced_accuracy import ScoringSet, summarise
from autointerp.explain.scorers.exact import RuleScorer


def ev(feats):
    return TokenEvidence("x", "<<x>>", set(feats), 1.0, 0.0)


def test_balanced_accuracy_is_chance_for_constant_answers():
    always = summarise("t", [True] * 50, [True] * 30, [True] * 300)
    never = summarise("t", [False] * 50, [False] * 30, [False] * 300)
    assert always.balanced_accuracy == never.balanced_accuracy == 0.5
    assert always.confidence == 0.0
    perfect = summarise("t", [True] * 50, [False] * 30, [False] * 30)
    assert perfect.balanced_accuracy == 1.0 and perfect.confidence == 1.0
    assert perfect.ci_low <= 1.0 and summarise("t", [True] * 3, [False] * 3, []).status == "insufficient-data"


def test_ci_narrows_with_more_data():
    small = summarise("t", [True] * 8 + [False] * 2, [False] * 8 + [True] * 2, [False] * 10)
    big = summarise("t", ([True] * 8 + [False] * 2) * 20, ([False] * 8 + [True] * 2) * 20, [False] * 200)
    assert small.balanced_accuracy == pytest.approx(big.balanced_accuracy, abs=0.01)
    assert (small.ci_high - small.ci_low) > (big.ci_high - big.ci_low)


def test_rule_scorer_right_vs_wrong():
    data = ScoringSet(
        positives=[ev({"class:determiner"})] * 40,
        hard_negatives=[ev({"class:preposition"})] * 20,
        random_negatives=[ev({"shape:lowercase"})] * 20,
    )
    right = asyncio.run(RuleScorer().score(ExplanationDraft("D", "t", Rule([frozenset({"class:determiner"})])), data))
    wrong = asyncio.run(RuleScorer().score(ExplanationDraft("P", "t", Rule([frozenset({"class:pronoun"})])), data))
    assert right.balanced_accuracy == 1.0 and wrong.balanced_accuracy == 0.5
