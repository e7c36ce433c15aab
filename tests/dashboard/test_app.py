"""AppTest: every page and its main interactions, with no exception raised."""

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from autointerp import CentroidExplanationCache
from autointerp.build.wordnet import find_data_dir
from autointerp.records import Status


@pytest.fixture()
def app_env(tiny_workspace, tmp_path, monkeypatch):
    root = tmp_path / "workspaces"
    shutil.copytree(tiny_workspace, root / tiny_workspace.name, ignore=shutil.ignore_patterns("explanations"))
    monkeypatch.setenv("AUTOINTERP_WORKSPACES", str(root))
    return root / tiny_workspace.name


APP = str(Path(__file__).resolve().parents[2] / "app.py")


def new_app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=120)


def test_sentence_page_analyzes_and_selects_a_token(app_env):
    at = new_app().run()
    assert not at.exception
    assert at.title[0].value == "Sentence analysis"
    at.text_area(key="sentence").set_value("The cat sat on the mat.").run()
    assert not at.exception
    body = at.html[0].proto.body
    assert body.count('class="ai-chip') >= 5 and "ai-tip" in body
    cols = at.dataframe[0].value.columns.tolist()
    assert cols[:6] == ["Pos", "Token", "C-ID", "Conf", "Act", "Explanation"] and "Explainer" in cols
    assert "centroid" in at.code[0].value  # meta-interpretation cites centroids
    at.pills(key="token_pick").set_value(at.pills(key="token_pick").options[1]).run()
    assert not at.exception
    assert any("Centroid" in m.value for m in at.markdown)
    assert any('class="ai-ex"' in h.proto.body for h in at.html)


def test_local_model_explainer_from_the_sidebar(app_env):
    at = new_app().run()
    at.selectbox(key="explainer_choice").set_value("Local model (label choice)").run()
    assert not at.exception
    at.text_area(key="sentence").set_value("A dog ran in the park.").run()
    assert not at.exception
    recs = CentroidExplanationCache(app_env / "explanations").all()
    assert recs and {r.metadata["explainer"] for r in recs} <= {"local-lm-choice", "offline-rules"}


def test_unreachable_llm_gets_a_helpful_state(app_env):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    at = new_app()
    at.session_state["explainer_choice"] = "OpenAI-compatible"
    at.session_state["llm_base_url"] = f"http://127.0.0.1:{port}/v1"
    at.run()
    assert not at.exception
    warning = next(w.value for w in at.warning if "The LLM failed" in w.value)
    # grouped by reason, with the count and the first message
    assert "got no explanation" in warning and "- unreachable: " in warning and "ConnectError" in warning
    assert not CentroidExplanationCache(app_env / "explanations").ids()


def test_switching_workspace_reanalyses(app_env, tiny_config, tiny_model, tmp_path):
    from autointerp.workspace import build_workspace

    other = build_workspace(tiny_config.with_(k=5), app_env.parent, model=tiny_model)
    at = new_app().run()
    first = {int(c) for c in at.dataframe[0].value["C-ID"]}
    at.selectbox(key="workspace").set_value(other.name).run()
    assert not at.exception
    ids = {int(c) for c in at.dataframe[0].value["C-ID"]}
    assert ids <= set(range(5)) and CentroidExplanationCache(other / "explanations").ids()
    assert first  # the first workspace had an analysis too


def test_empty_sentence_shows_a_warning_not_a_crash(app_env):
    at = new_app().run()
    at.text_area(key="sentence").set_value("   ").run()
    assert not at.exception
    assert "empty" in at.warning[0].value


def test_centroid_browser_selects_and_generates(app_env):
    at = new_app().run()
    at.switch_page("pages/centroids.py").run()
    assert not at.exception
    assert at.title[0].value == "Centroid browser"
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert sum(len(t["x"]) for t in fig["data"]) == 8 + 1  # every centroid, plus the selection ring
    at.selectbox(key="c_select").set_value(3).run()
    assert not at.exception
    at.button(key="regen").click().run()
    assert not at.exception
    assert CentroidExplanationCache(app_env / "explanations").has(3)
    at.text_input(key="c_query").set_value("zzzz-no-match").run()
    assert not at.exception and "No centroid matches" in at.warning[0].value


def test_cache_page_edit_accept_delete_export(app_env):
    at = new_app().run()  # analysing the default example fills the cache
    at.switch_page("pages/cache.py").run()
    assert not at.exception
    cache = CentroidExplanationCache(app_env / "explanations")
    cid = cache.ids()[0]
    at.selectbox(key="act_id").set_value(cid).run()
    at.text_input(key=f"edit_text_{cid}").set_value("Determiners and articles").run()
    at.button(key="save_one").click().run()
    assert not at.exception
    rec = cache.get(cid)
    assert rec.explanation == "Determiners and articles" and rec.metadata["human_edited"]
    assert rec.metadata["score"]["method"] == "exact-rule"
    at.button(key="accept").click().run()
    assert cache.get(cid).metadata.get("accepted")
    at.button(key="delete").click().run()
    assert not at.exception and not cache.has(cid)


def test_first_launch_builds_the_default_workspace(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOINTERP_WORKSPACES", str(tmp_path / "fresh"))
    overrides = {k: v for k, v in tiny_config.to_dict().items()}
    monkeypatch.setenv("AUTOINTERP_DEFAULT_BUILD", json.dumps(overrides))
    at = new_app().run()
    assert not at.exception
    assert any(p.is_dir() for p in (tmp_path / "fresh").iterdir())
    assert at.title[0].value == "Sentence analysis"


SENTENCE = "A dog ran in the park, and the children laughed."


def _chip(body: str, pos: int) -> str:
    start = body.index(f'data-pos="{pos}"')
    return body[body.rindex("<span", 0, start) : body.index("</span></span>", start)]


@pytest.mark.skipif(find_data_dir() is None, reason="WordNet data not installed")
def test_edits_are_read_as_rules_and_unreadable_text_shows_as_not_measured(app_env):
    at = new_app().run()
    at.text_area(key="sentence").set_value(SENTENCE).run()
    table = at.dataframe[0].value
    fox = 1  # " d" of "dog": the tiny tokenizer splits the word
    cid = int(table["C-ID"][fox])
    cache = CentroidExplanationCache(app_env / "explanations")

    at.switch_page("pages/cache.py").run()
    at.selectbox(key="act_id").set_value(cid).run()
    at.text_input(key=f"edit_text_{cid}").set_value("Animals and other living things").run()
    at.button(key="save_one").click().run()
    assert not at.exception
    rec = cache.get(cid)
    assert rec.measured and rec.info.score.method == "exact-rule"
    assert rec.info.rule == [["lex:noun.animal"], ["syn:living_thing.n.01"]]
    at.switch_page("pages/centroids.py").run()
    at.selectbox(key="c_select").set_value(cid).run()
    assert not at.exception
    assert next(m for m in at.metric if m.label == "Confidence").value == f"{rec.confidence:.2f}"
    breakdown = next(d.value for d in at.dataframe if "read as rule" in d.value.columns)
    assert breakdown["read as rule"][0] == "lex:noun.animal OR syn:living_thing.n.01"

    at.switch_page("pages/cache.py").run()
    at.selectbox(key="act_id").set_value(cid).run()
    at.text_input(key=f"edit_text_{cid}").set_value("Something vague about the vibe").run()
    at.button(key="save_one").click().run()
    assert not at.exception and cache.get(cid).status is Status.UNSCORED
    at.switch_page("pages/centroids.py").run()
    at.selectbox(key="c_select").set_value(cid).run()
    assert next(m for m in at.metric if m.label == "Confidence").value == "not measured"

    at.switch_page("pages/analyze.py").run()
    at.text_area(key="sentence").set_value(SENTENCE)
    at.button(key="analyze").click().run()
    assert not at.exception
    chip = _chip(at.html[0].proto.body, fox)
    assert "unmeasured" in chip and "not measured" in chip and "0.00" not in chip and " low" not in chip
    table = at.dataframe[0].value
    assert table["Conf"][table["C-ID"] == cid].isna().all()
    meta = at.code[0].value
    assert f"centroid {cid}" in meta.split("NOT MEASURED", 1)[1]
    assert f"centroid {cid}" not in meta.split("NOT MEASURED", 1)[0].split("UNCERTAIN", 1)[-1]
