"""AppTest: the centroid browser's output side panel and its Steer box."""

import json

from autointerp.ui.chips import esc
from autointerp.workspace import Workspace

from .test_app import new_app


def _steer(at, prompt: str):
    at.text_area(key="steer_prompt").set_value(prompt)
    next(b for b in at.button if b.label == "Steer").click()
    return at.run()


def _cache(at):
    (cache,) = at.session_state["steer_caches"].values()
    return cache


def test_the_output_side_shows_beside_the_explanation(app_env):  # noqa: F811
    side = Workspace.open(app_env).output_side(3)
    at = new_app().run()
    at.switch_page("pages/centroids.py")
    at.query_params["centroid"] = "3"
    at.run()
    assert not at.exception
    texts = [m.value for m in at.markdown]
    assert any(t.startswith("**Output side**") for t in texts)
    assert any(f"<em>{esc(side.description)}</em>" in h.proto.body for h in at.html)  # the stored description
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")[1:]]
    assert "Promoted tokens (logit lens, probability)" in titles
    assert ("TokenChange (mean rise, points)" in titles) == bool(side.token_change)


def test_steer_shows_both_continuations_caches_them_and_reports_bad_input(app_env):  # noqa: F811
    at = new_app().run()
    at.switch_page("pages/centroids.py").run()
    at = _steer(at, "The cat sat on the")
    assert not at.exception and not at.error
    shown = [c.value for c in at.code]
    assert len(shown) == 2 and all(s.startswith("The cat sat on the") for s in shown)
    cache = _cache(at)
    assert cache.computed == 1
    at = _steer(at, "The cat sat on the")
    assert _cache(at).computed == 1  # the same (centroid, strength, prompt): not generated again
    at = _steer(at, "   ")
    assert not at.exception
    assert [e.value for e in at.error] == ["Cannot steer: type a prompt to steer"]
    at = _steer(at, "word " * 600)
    assert not at.exception and "tokens long" in at.error[0].value
