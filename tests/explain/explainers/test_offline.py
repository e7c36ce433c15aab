import asyncio

from autointerp.explain.explainers.contract import ClusterEvidence, TokenEvidence
from autointerp.explain.explainers.offline import OfflineExplainer, label_for
from autointerp.explain.explainers.parse import rule_from_text
from autointerp.explain.features import token_features


def tok(s: str, prev: str = " the", nxt: str = " of", pos: int = 5) -> TokenEvidence:
    return TokenEvidence(s, f"<<{s}>>", token_features(s, prev, nxt, pos), 0.9, 0.1)


def evidence(members, contrast, background, flags=()):
    bands = [members[i::4] for i in range(4)]
    return ClusterEvidence(0, bands, contrast, background, [1, 2], len(members), list(flags))


def test_category_label_not_a_token_list():
    members = [tok(w) for w in [" the", " a", " an", " this", " these", " that", " those", " each"] * 5]
    others = [tok(w) for w in [" cat", " river", " ran", " quickly", ",", " Paris", " 1969", " of"] * 5]
    d = asyncio.run(OfflineExplainer().explain(evidence(members, others[:20], others[20:])))
    assert d.explanation == "Determiners and articles"
    assert d.rule is not None and d.evidence["validation_balanced_accuracy"] > 0.9


def test_context_distinguishes_sibling_clusters():
    members = [tok(" the", prev=" of") for _ in range(30)] + [tok(" the", prev=" in") for _ in range(3)]
    siblings = [tok(" the", prev=w) for w in [" and", " is", ".", " was"] * 8]
    ev_ = evidence(members, siblings, [tok(" cat")] * 20, ["single-token"])
    ev_.top_tokens = [(" the", 1.0)]
    d = asyncio.run(OfflineExplainer().explain(ev_))
    assert "'the'" in d.explanation and "after" in d.explanation
    assert d.evidence["validation_balanced_accuracy"] == 1.0


def test_flags_are_reported_in_the_label():
    members = [tok(",") for _ in range(40)]
    d = asyncio.run(
        OfflineExplainer().explain(evidence(members, [tok(".")] * 20, [tok(" cat")] * 20, flags=["single-token"]))
    )
    assert ("','" in d.explanation or "Commas" in d.explanation) and d.evidence["flags"] == ["single-token"]


def test_labels_parse_back_into_the_same_rule():
    members = [tok(w) for w in [" the", " a", " an"] * 10]
    ex = OfflineExplainer()
    for rule, _ in ex.ranked_rules(evidence(members, [tok(" cat")] * 10, [tok(",")] * 10), 10):
        back = rule_from_text(label_for(rule))
        if back is not None and not any(f.startswith(("position", "prevshape")) for t in rule.terms for f in t):
            assert all(back.matches(m.features) == rule.matches(m.features) for m in members)
    assert rule_from_text("Something vague") is None


def test_bitset_rule_checks_equal_checking_each_token():
    import random

    from autointerp.explain.explainers.contract import Rule
    from autointerp.explain.explainers.offline import FeatureBits, RuleChecker

    rng = random.Random(0)
    names = [f"f:{i}" for i in range(12)]
    tokens = [TokenEvidence(f"t{i}", "", set(rng.sample(names, rng.randint(0, 5))), 0.0, 0.0) for i in range(300)]
    bits = FeatureBits(tokens)
    for _ in range(500):
        terms = [frozenset(rng.sample(names + ["f:absent"], rng.randint(0, 3))) for _ in range(rng.randint(0, 3))]
        rule = Rule(terms)
        assert bits.matched(rule) == sum(rule.matches(t.features) for t in tokens)
    pos, neg, empty = tokens[:100], tokens[100:], []
    rule = Rule([frozenset(["f:1"]), frozenset(["f:2", "f:3"])])
    tpr = sum(rule.matches(t.features) for t in pos) / len(pos)
    tnr = 1 - sum(rule.matches(t.features) for t in neg) / len(neg)
    assert RuleChecker(pos, [neg, empty]).balanced_accuracy(rule) == (tpr + tnr) / 2


def test_a_space_token_cluster_is_not_labelled_the_empty_word():
    """Members that are all a lone space, told apart from other spaces by what precedes them: the label named
    the word as `top.strip()`, which read "The word ''" (and a rule for the empty word matches nothing)."""
    members = [tok(" ", prev=".") for _ in range(30)]
    siblings = [tok(" ", prev=w) for w in [" and", " is", ",", " was"] * 8]
    ev_ = evidence(members, siblings, [tok(" cat")] * 20, ["single-token"])
    ev_.top_tokens = [(" ", 1.0)]
    d = asyncio.run(OfflineExplainer().explain(ev_))
    assert "''" not in d.explanation and "The word" not in d.explanation


def test_a_rule_on_the_whitespace_token_itself_reads_as_whitespace():
    """A cluster that is the space token (rule `tok:`, centroid 83 of the default workspace): its label read
    "The word ''" in chips, table and CLI."""
    from autointerp.explain.explainers.contract import Rule
    from autointerp.explain.explainers.offline import label_for

    for rule in (Rule([frozenset({"tok:"})]), Rule([frozenset({"tok:", "prev:."})])):
        text = label_for(rule)
        assert "''" not in text and "whitespace" in text.lower(), text
    assert label_for(Rule([frozenset({"tok:the"})])) == "The word 'the'"
