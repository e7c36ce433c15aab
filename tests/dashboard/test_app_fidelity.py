"""AppTest: the sidebar's fidelity figures and the sentence page's fidelity overlay."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_sidebar_figures_and_the_sentence_overlay(app_env):
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    sidebar = " ".join(m.value for m in at.sidebar.markdown)
    assert "**Fidelity** CE loss recovered" in sidebar and "FVE" in sidebar
    at.text_area(key="sentence").set_value("The cat sat on the mat.").run()
    assert not at.exception and not at.get("plotly_chart")
    at.toggle(key="fidelity_overlay").set_value(True).run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "This text: CE loss recovered" in labels and "CE clean → patched" in labels
    assert len(at.get("plotly_chart")) == 1
