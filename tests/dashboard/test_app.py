"""AppTest: every page and its main interactions, with no exception raised."""

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from autointerp import CentroidExplanationCache
from autointerp.config import RunOptions
from autointerp.data.wordnet import find_data_dir
from autointerp.records import Status

EXAMPLE_2 = "In 1969, Neil Armstrong became the first person to walk on the Moon."


APP = str(Path(__file__).resolve().parents[2] / "app.py")


def new_app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=120)


def components(at: AppTest, name: str) -> list[dict]:
    """The data each mounted v2 component of this name was given (AppTest does not run their JavaScript)."""
    return [json.loads(e.proto.json or "null") for e in at.get("bidi_component") if e.proto.component_name == name]


def chips_html(at: AppTest) -> str:
    return "".join(d["html"] for d in components(at, "autointerp_chips"))


def n_chips(html: str) -> int:
    return len(re.findall(r'class="ai-chip[ "]', html))


def test_sentence_page_analyzes_selects_a_token_and_keeps_the_address(app_env):
    at = new_app().run()
    assert not at.exception
    assert at.title[0].value == "Sentence analysis"
    at.text_area(key="sentence").set_value("The cat sat on the mat.").run()
    assert not at.exception
    body = chips_html(at)
    assert n_chips(body) >= 5 and "ai-tip" in body and "explainer" in body
    cols = at.dataframe[0].value.columns.tolist()
    assert cols[:6] == ["Pos", "Token", "C-ID", "Conf", "Act", "Explanation"] and "Explainer" in cols
    shown = json.loads(at.dataframe[0].proto.columns)  # digits as the CLI and the hover card print them
    assert shown["Conf"]["type_config"]["format"] == "%.2f" and shown["Act"]["type_config"]["format"] == "%.3f"
    assert "centroid" in at.code[0].value  # meta-interpretation cites centroids
    assert at.query_params["text"] == "The cat sat on the mat." and at.query_params["workspace"] == app_env.name
    at.session_state["token_sel"] = 1  # what a click on the second chip sets
    at.run()
    assert not at.exception
    assert at.query_params["token"] == "1"
    assert 'class="ai-chip sel' in chips_html(at) or " sel" in chips_html(at)
    assert any("Centroid" in h.proto.body and "position 1" in h.proto.body for h in at.html)
    assert any('class="ai-ex"' in h.proto.body for h in at.html)
    assert len(components(at, "autointerp_copy_link")) == 1
    assert {b.label for b in at.get("download_button")} >= {"Download as HTML", "Download chips (SVG)"}


def test_a_shared_link_opens_its_view(app_env):
    at = new_app()
    at.query_params.update({"text": "A dog ran in the park.", "token": "2", "workspace": app_env.name, "layer": "2"})
    at.run()
    assert not at.exception
    assert at.text_area(key="sentence").value == "A dog ran in the park."
    assert " sel" in chips_html(at) and any("position 2" in h.proto.body for h in at.html)
    assert at.query_params["layer"] == "2"  # a layer stack's parameter is passed through untouched
    stale = new_app()  # the centroid browser's key, carried back: the sentence address drops it
    stale.query_params.update({"text": "A dog ran in the park.", "workspace": app_env.name, "centroid": "3"})
    stale.run()
    assert not stale.exception and "centroid" not in stale.query_params
    assert stale.query_params["text"] == "A dog ran in the park."
    bad = new_app()
    bad.query_params.update({"text": "A dog.", "token": "99", "workspace": "no-such-workspace"})
    bad.run()
    assert not bad.exception
    warnings = " ".join(w.value for w in bad.warning)
    assert "no-such-workspace" in warnings and "past the end" in warnings
    assert "token" not in bad.query_params and bad.query_params["workspace"] == app_env.name


def test_example_picker_changes_the_text(app_env, tiny_model):
    at = new_app().run()
    at.selectbox(key="example").set_value(EXAMPLE_2).run()
    assert not at.exception
    assert at.text_area(key="sentence").value == EXAMPLE_2
    assert at.query_params["text"] == EXAMPLE_2
    n = len(tiny_model.tokenizer(EXAMPLE_2, add_special_tokens=False)["input_ids"])
    assert n_chips(chips_html(at)) == n  # the chips are the new text's tokens
    at.text_area(key="sentence").set_value("My own sentence about cats.").run()
    assert at.selectbox(key="example").value is None  # the picker no longer claims the text


def test_the_text_survives_a_visit_to_another_page(app_env):
    at = new_app().run()
    at.text_area(key="sentence").set_value("A dog ran in the park.").run()
    at.switch_page("pages/centroids.py").run()
    at.switch_page("pages/analyze.py").run()
    assert not at.exception
    assert at.text_area(key="sentence").value == "A dog ran in the park."


def test_long_text_opens_the_panel_after_its_own_sentence(app_env):
    text = " ".join(f"Sentence number {i} is about the cat and the dog." for i in range(40))
    at = new_app().run()
    at.text_area(key="sentence").set_value(text).run()
    blocks = components(at, "autointerp_chips")
    assert len(blocks) >= 4  # one block per sentence or so (the tiny model reads 127 tokens), each clickable
    target = int(re.search(r'data-pos="(\d+)"', blocks[len(blocks) // 2]["html"])[1]) + 1  # in a middle block
    at.session_state["token_sel"] = target
    at.run()
    assert not at.exception
    order = [getattr(e, "type", type(e).__name__) for e in at.main]
    kinds = [
        "chips" if o == "bidi_component" and e.proto.component_name == "autointerp_chips" else o
        for o, e in zip(order, at.main, strict=True)
    ]
    panel = next(i for i, e in enumerate(at.main) if type(e).__name__ == "Html" and "position" in e.proto.body)
    chips_before = kinds[:panel].count("chips")
    block_of_target = next(i for i, d in enumerate(blocks) if f'data-pos="{target}"' in d["html"])
    assert chips_before == block_of_target + 1  # right after the block holding the token, not after all of them


def test_local_model_explainer_from_the_sidebar(app_env):
    at = new_app()
    at.session_state["explainer_choice"] = "Local model (label choice)"  # set before the run: see below
    at.run()
    assert not at.exception
    at.text_area(key="sentence").set_value("A dog ran in the park.").run()
    assert not at.exception
    recs = CentroidExplanationCache(app_env / "explanations").all()
    assert recs and {r.metadata["explainer"] for r in recs} == {"local-lm-choice"}
    assert "local-lm-choice" in chips_html(at)  # the hover cards name the explainer


def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed once the block ends: nothing listens there


def test_unreachable_llm_gets_a_helpful_state(app_env):
    at = new_app()
    at.session_state["explainer_choice"] = "OpenAI-compatible"
    at.session_state["llm_base_url"] = f"http://127.0.0.1:{closed_port()}/v1"
    at.run()
    assert not at.exception
    warning = [w.value for w in at.warning if "The LLM failed" in w.value]
    assert len(warning) == 1 and "Test connection" in warning[0]  # the detail, once, grouped by reason
    assert "got no explanation" in warning[0] and "- unreachable: " in warning[0] and "ConnectError" in warning[0]
    assert "ConnectError" not in chips_html(at) and "failed" in chips_html(at)  # cards say only "failed"
    assert not CentroidExplanationCache(app_env / "explanations").ids()
    # "Test connection" itself is driven in the browser test: AppTest does not send clicks on sidebar widgets
    # when the app uses st.navigation (the sidebar is empty in its tree after a rerun, with main's app.py too).


def test_switching_workspace_reanalyses(app_env, tiny_config, tiny_model, tmp_path):
    from autointerp.workspace import build_workspace

    other = build_workspace(tiny_config.with_(k=5), app_env.parent, options=RunOptions(model=tiny_model))
    at = new_app().run()
    first = {int(c) for c in at.dataframe[0].value["C-ID"]}
    model = at.session_state["interp"].model
    box = at.selectbox(key="workspace")
    assert all(len(label) < len(name) for label, name in zip(box.options, [app_env.name, other.name], strict=False))
    box.set_value(other.name).run()
    assert not at.exception
    ids = {int(c) for c in at.dataframe[0].value["C-ID"]}
    assert ids <= set(range(5)) and CentroidExplanationCache(other / "explanations").ids()
    assert first  # the first workspace had an analysis too
    assert at.query_params["workspace"] == other.name
    assert at.session_state["interp"].model is model  # one loaded copy of a model serves all its workspaces


def test_empty_sentence_shows_a_warning_not_a_crash(app_env):
    at = new_app().run()
    at.text_area(key="sentence").set_value("   ").run()
    assert not at.exception
    assert "empty" in at.warning[0].value


def centroid_picker(at: AppTest):
    return next(s for s in at.selectbox if s.label == "Centroid")


def test_centroid_browser_link_ring_explain_all_and_regenerate(app_env):
    at = new_app().run()  # the sentence page explains the default example's centroids, not all 8
    n_missing = 8 - len(CentroidExplanationCache(app_env / "explanations").ids())
    assert n_missing > 0
    at.switch_page("pages/centroids.py")
    at.query_params["centroid"] = "3"
    at.run()
    assert not at.exception
    assert at.title[0].value == "Centroid browser"
    assert centroid_picker(at).value == 3
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert sum(len(t["x"]) for t in fig["data"]) == 8 + 1  # every centroid, plus the selection ring
    points = {c[0]: (x, y) for t in fig["data"][:-1] for x, y, c in zip(t["x"], t["y"], t["customdata"], strict=True)}
    ring = fig["data"][-1]
    assert (ring["x"][0], ring["y"][0]) == points[3]
    assert all(t["unselected"]["marker"]["opacity"] == 1 for t in fig["data"][:-1])  # no fading on click
    configs = [json.loads(c.proto.config or "{}") for c in at.get("plotly_chart")]
    assert len(configs) >= 3 and configs[0].get("displayModeBar") is not False  # the map keeps zoom and pan
    assert all(c.get("displayModeBar") is False for c in configs[1:])  # no toolbar over a title
    assert sum("—" in label for label in centroid_picker(at).options) == n_missing
    at.button(key="explain_all").click().run()
    assert not at.exception
    labels = centroid_picker(at).options
    assert all("—" not in label for label in labels)  # labels follow the new explanations at once
    assert centroid_picker(at).value == 3 and at.query_params["centroid"] == "3"
    assert any(f"Explained {n_missing}" in s.value for s in at.success)
    at.button(key="regen").click().run()
    assert not at.exception
    assert any("same explanation and confidence" in i.value for i in at.info)  # nothing changed, and it says so
    breakdown = [d for d in at.dataframe if list(d.value.columns) == ["measure", "value"]]
    assert breakdown and "balanced accuracy" in set(breakdown[0].value["measure"])
    at.text_input(key="c_query").set_value("zzzz-no-match").run()
    assert not at.exception and "No centroid matches" in at.warning[0].value


def test_cache_page_edit_accept_regenerate_delete(app_env):
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
    assert any(f"Centroid {cid}: explanation accepted" in m.value for m in at.success)
    at.button(key="regenerate").click().run()
    assert not at.exception
    assert any("Regenerated centroid" in m.value for m in [*at.success, *at.info])
    kept = cache.get(cid)
    at.button(key="delete").click().run()
    assert not at.exception and not cache.has(cid)
    assert any(f"Centroid {cid}: explanation deleted" in m.value for m in at.success)
    at.button(key="undo_delete").click().run()  # one click deleted it; one click brings it back
    assert not at.exception and cache.get(cid) == kept


def test_first_launch_builds_and_explains_the_default_workspace(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOINTERP_WORKSPACES", str(tmp_path / "fresh"))
    overrides = {k: v for k, v in tiny_config.to_dict().items()}
    monkeypatch.setenv("AUTOINTERP_DEFAULT_BUILD", json.dumps(overrides))
    at = new_app().run()
    assert not at.exception
    (built,) = [p for p in (tmp_path / "fresh").iterdir() if p.is_dir()]
    assert len(CentroidExplanationCache(built / "explanations").ids()) == tiny_config.k  # the map starts in colour
    assert at.title[0].value == "Sentence analysis"


def test_a_first_launch_that_fails_unexpectedly_says_so_without_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOINTERP_WORKSPACES", str(tmp_path / "fresh"))
    monkeypatch.setenv("AUTOINTERP_DEFAULT_BUILD", "{not json")  # not an AutoInterpError: a JSONDecodeError
    at = new_app().run()
    assert not at.exception
    assert "Fix the cause and reload the page" in at.error[0].value
    assert not (tmp_path / "fresh").exists() or not any((tmp_path / "fresh").iterdir())


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
    centroid_picker(at).set_value(cid).run()
    assert not at.exception
    assert next(m for m in at.metric if m.label == "Confidence").value == f"{rec.confidence:.2f}"
    breakdown = next(d.value for d in at.dataframe if list(d.value.columns) == ["measure", "value"])
    assert dict(zip(breakdown["measure"], breakdown["value"], strict=True))["read as rule"] == (
        "lex:noun.animal OR syn:living_thing.n.01"
    )

    at.switch_page("pages/cache.py").run()
    at.selectbox(key="act_id").set_value(cid).run()
    at.text_input(key=f"edit_text_{cid}").set_value("Something vague about the vibe").run()
    at.button(key="save_one").click().run()
    assert not at.exception and cache.get(cid).status is Status.UNSCORED
    at.switch_page("pages/centroids.py").run()
    centroid_picker(at).set_value(cid).run()
    assert next(m for m in at.metric if m.label == "Confidence").value == "not measured"

    at.switch_page("pages/analyze.py").run()
    at.text_area(key="sentence").set_value(SENTENCE)
    at.button(key="analyze").click().run()
    assert not at.exception
    chip = _chip(chips_html(at), fox)
    assert "unmeasured" in chip and "not measured" in chip and "0.00" not in chip and " low" not in chip
    table = at.dataframe[0].value
    assert table["Conf"][table["C-ID"] == cid].isna().all()
    meta = at.code[0].value
    assert f"centroid {cid}" in meta.split("NOT MEASURED", 1)[1]
    assert f"centroid {cid}" not in meta.split("NOT MEASURED", 1)[0].split("UNCERTAIN", 1)[-1]


def test_an_active_filter_is_named_on_its_expander(app_env):
    at = new_app().run()
    at.switch_page("pages/centroids.py").run()
    assert [e.label for e in at.expander if e.label.startswith("Search")] == ["Search and filter"]
    at.text_input(key="c_query").set_value("zzz-no-such-label").run()
    assert not at.exception
    assert [e.label for e in at.expander if e.label.startswith("Search")] == ["Search and filter (a filter is on)"]


def test_searching_a_number_finds_that_centroid(app_env):
    """The issue typed "76" and found nothing: a number names a centroid id, whatever the explanations say."""
    at = new_app().run()
    at.switch_page("pages/centroids.py").run()
    at.text_input(key="c_query").set_value("5").run()
    assert not at.exception and not at.warning
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    shown = {c[0] for t in fig["data"][:-1] for c in t["customdata"]}
    assert 5 in shown and centroid_picker(at).value in shown


def test_a_rerun_with_the_address_from_before_a_pick_keeps_the_pick(app_env):
    """Every rerun carries the browser's address as it was when the rerun was sent. After a pick, the rerun that
    follows (the chart clearing its selection, or a second click) is often sent before the pick's new address
    reached the browser. Taken as a link, that older address put the page back one pick (issue 18, item 2)."""
    at = new_app().run()
    at.switch_page("pages/centroids.py")
    at.query_params["centroid"] = "3"
    at.run()  # entering the page: the address is a link
    assert centroid_picker(at).value == 3
    centroid_picker(at).set_value(5).run()  # the user picks 5; the page writes ?centroid=5
    assert centroid_picker(at).value == 5 and at.query_params["centroid"] == "5"
    at.query_params["centroid"] = "3"  # a rerun sent before ?centroid=5 arrived: the browser still says 3
    at.run()
    assert not at.exception
    assert centroid_picker(at).value == 5 and at.query_params["centroid"] == "5"  # the pick stands, and its address
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    ring = fig["data"][-1]
    points = {c[0]: (x, y) for t in fig["data"][:-1] for x, y, c in zip(t["x"], t["y"], t["customdata"], strict=True)}
    assert (ring["x"][0], ring["y"][0]) == points[5]
