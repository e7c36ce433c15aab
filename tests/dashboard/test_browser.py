"""Real-browser tests: Playwright driving Debian's Chromium against a live Streamlit server."""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from autointerp import CentroidExplanation, CentroidExplanationCache

from .browser import free_port, needs_chromium, streamlit_server

pytestmark = needs_chromium
expect.set_options(timeout=60_000)  # the page rerenders in steps; under load a step can take seconds
XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'


@pytest.fixture(scope="module")
def server(real_workspace, tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    ws = Path(shutil.copytree(real_workspace, root / real_workspace.name))
    # a hostile explanation for a centroid that no sentence below is likely to hit first
    CentroidExplanationCache(ws / "explanations").set(CentroidExplanation(23, f"evil {XSS}", 0.5, [XSS]))
    with streamlit_server(root, log=root / "server.log") as url:
        yield url, ws


def server_log(ws: Path) -> str:
    return (ws.parent / "server.log").read_text(errors="replace")


def wait_ready(page) -> None:
    page.wait_for_selector("#ai-chips, [data-testid='stTitle'], h1", timeout=90_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=90_000)


def no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0


def idle(page) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=90_000)


def query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def wait_for_param(page, key: str, value: str) -> None:
    """The address is written late in a rerun, after what the test waited for: poll it, then check it."""
    page.wait_for_function(
        "([k, v]) => new URL(location.href).searchParams.get(k) === v", arg=[key, value], timeout=60_000
    )
    assert query(page)[key] == value


def test_analyze_hover_click_a_chip_and_open_its_centroid(server, page):
    url, _ = server
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(url)
    page.wait_for_selector(".ai-chip", timeout=120_000)
    box = page.get_by_role("textbox", name="Text to analyse")
    box.fill("The quick brown fox jumps over the lazy dog.")
    page.get_by_role("button", name="Analyze").click()
    page.wait_for_function("() => document.querySelectorAll('.ai-chip').length === 10", timeout=60_000)
    chip = page.locator(".ai-chip").nth(3)
    assert "fox" in chip.inner_text()
    chip.hover()
    tip = chip.locator(".ai-tip")
    page.wait_for_function("el => getComputedStyle(el).visibility === 'visible'", arg=tip.element_handle())
    text = tip.inner_text()
    assert "centroid" in text and "confidence" in text and "margin" in text and "explainer" in text
    no_exception(page)
    cid = chip.get_attribute("data-centroid")
    chip.click()  # the chips are clickable: the token's centroid opens right below its sentence
    open_button = page.get_by_role("link", name="Open in the centroid browser")
    open_button.wait_for(timeout=60_000)
    wait_for_param(page, "token", "3")
    assert page.locator(".ai-chip.sel").get_attribute("data-pos") == "3"
    chips_bottom = page.locator(".ai-chip").last.bounding_box()
    panel_top = page.get_by_text(f"Centroid {cid}", exact=True).first.bounding_box()
    assert 0 < panel_top["y"] - chips_bottom["y"] < 150  # next to what was clicked
    sentence_address = query(page)
    open_button.click()
    page.wait_for_selector(".stPlotlyChart .main-svg", timeout=60_000)
    page.get_by_text("Member distances").first.wait_for(timeout=60_000)
    wait_for_param(page, "centroid", cid)
    assert page.locator(".ai-ex mark").count() > 0
    no_exception(page)
    idle(page)
    page.go_back()  # one Back returns to the sentence and its selected token, not to an in-between address
    page.wait_for_selector(".ai-chip.sel", timeout=60_000)
    idle(page)
    page.wait_for_function("() => new URL(location.href).searchParams.get('token') === '3'", timeout=60_000)
    assert urlparse(page.url).path in ("", "/") and query(page) == sentence_address
    no_exception(page)


def test_permalink_round_trip_and_copy_link(server, page, context):
    url, ws = server
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.set_viewport_size({"width": 1400, "height": 1000})
    text = "Paris and London are large cities in Europe."
    page.goto(f"{url}/?{urlencode({'text': text, 'token': '2', 'workspace': ws.name})}")
    page.wait_for_selector(".ai-chip.sel", timeout=120_000)
    assert page.get_by_role("textbox", name="Text to analyse").input_value() == text
    chips = page.locator(".ai-chip")
    tokens = chips.evaluate_all("cs => cs.map(c => c.firstChild.textContent).join('')")
    assert tokens.replace("·", " ") == text  # the link's text, as chips
    assert page.locator(".ai-chip.sel").get_attribute("data-pos") == "2"
    chips.nth(4).click()  # selecting a token updates the address
    page.wait_for_function("() => new URL(location.href).searchParams.get('token') === '4'", timeout=60_000)
    assert query(page) == {"text": text, "token": "4", "workspace": ws.name}
    idle(page)
    page.get_by_role("button", name="Copy link").click()
    page.get_by_text("Copied").wait_for(timeout=10_000)
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert parse_qs(urlparse(copied).query) == parse_qs(urlparse(page.url).query)
    fresh = page.context.new_page()  # the copied link opens the same view in a new session
    fresh.goto(copied)
    fresh.wait_for_selector(".ai-chip.sel", timeout=120_000)
    assert fresh.locator(".ai-chip.sel").get_attribute("data-pos") == "4"
    assert fresh.get_by_role("textbox", name="Text to analyse").input_value() == text
    fresh.close()
    no_exception(page)


def test_example_picker_changes_the_text(server, page):
    url, _ = server
    page.goto(url)
    page.wait_for_selector(".ai-chip", timeout=120_000)
    idle(page)
    page.locator("[data-testid='stSelectbox']").filter(has_text="Example sentences").click()
    page.get_by_role("option").filter(has_text="Neil Armstrong").click()
    page.wait_for_function(
        "() => document.querySelector('textarea[aria-label=\"Text to analyse\"]').value.includes('Armstrong')",
        timeout=60_000,
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('.ai-chip')].some(c => c.firstChild.textContent === '·Armstrong')",
        timeout=60_000,
    )
    # the address is written after the chips, in the same run: wait for it rather than race it
    page.wait_for_function("() => new URL(location.href).searchParams.get('text').includes('Armstrong')")
    assert "Armstrong" in query(page)["text"]
    no_exception(page)


# The centroid id under the ring, and the id and centre of a map point well apart from the ring and from every
# other point, so that plotly resolves a click at its centre to it (plotly picks the point nearest a click).
RING_ID = """() => {
  const gd = document.querySelector('.stPlotlyChart .js-plotly-plot');
  const ring = gd.data[gd.data.length - 1];
  for (const t of gd.data.slice(0, -1))
    for (let i = 0; i < t.x.length; i++)
      if (t.x[i] === ring.x[0] && t.y[i] === ring.y[0]) return String(t.customdata[i][0]);
  return null;
}"""
CLEAR_POINT = """() => {
  const tr = [...document.querySelector('.stPlotlyChart').querySelectorAll('g.trace.scatter')];
  const centre = p => { const b = p.getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]; };
  const ring = centre(tr[tr.length - 1].querySelector('path.point'));
  const points = tr.slice(0, -1).flatMap(t => [...t.querySelectorAll('path.point')]).map(p => [p, centre(p)]);
  for (const [p, [x, y]] of points) {
    const apart = points.every(([q, [u, v]]) => q === p || Math.hypot(x - u, y - v) > 25);
    if (apart && Math.hypot(x - ring[0], y - ring[1]) > 40) {
      const trace = p.closest('g.trace').__data__[0].trace;
      return [x, y, String(trace.customdata[p.__data__.i][0])];
    }
  }
  return null;
}"""


def test_map_click_moves_the_ring_and_explain_all_relabels(server, page):
    url, _ = server
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(f"{url}/centroids?centroid=0")
    page.wait_for_selector(".stPlotlyChart .main-svg", timeout=120_000)
    idle(page)
    assert page.evaluate(RING_ID) == "0"
    x, y, cid = page.evaluate(CLEAR_POINT)
    page.mouse.click(x, y)
    page.wait_for_function(f"c => ({RING_ID})() === c", arg=cid, timeout=60_000)  # the ring moved to the click
    idle(page)
    wait_for_param(page, "centroid", cid)
    picker = page.get_by_role("combobox", name="Centroid", exact=True)
    expect(picker).to_have_value(re.compile(rf"^{cid}:"))  # the picker follows the map
    opacities = page.evaluate(  # every centroid's point, the ring (last trace) aside
        "() => [...document.querySelector('.stPlotlyChart').querySelectorAll('g.trace.scatter')].slice(0, -1)"
        ".flatMap(t => [...t.querySelectorAll('path.point')]).map(p => getComputedStyle(p).opacity)"
    )
    assert len(opacities) > 10 and len(set(opacities)) == 1  # no point is faded after the click
    explain_all = page.get_by_role("button", name=re.compile(r"^Explain all \d+"))
    if explain_all.count():  # the fixture's workspace was built without explaining
        explain_all.click()
        page.get_by_text(re.compile(r"^Explained \d+ centroid")).wait_for(timeout=120_000)
        # the new explanation, not a stale dash (the flash is drawn before the picker in the same run)
        expect(page.get_by_role("combobox", name="Centroid", exact=True)).to_have_value(re.compile(rf"^{cid}: [^—]"))
    no_exception(page)


# Every map point well apart from every other point and from the ring, as [x, y, centroid id] (see CLEAR_POINT).
CLEAR_POINTS = """() => {
  const tr = [...document.querySelector('.stPlotlyChart').querySelectorAll('g.trace.scatter')];
  const centre = p => { const b = p.getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]; };
  const ring = centre(tr[tr.length - 1].querySelector('path.point'));
  const points = tr.slice(0, -1).flatMap(t => [...t.querySelectorAll('path.point')]).map(p => [p, centre(p)]);
  return points.filter(([p, [x, y]]) => Math.hypot(x - ring[0], y - ring[1]) > 40
      && points.every(([q, [u, v]]) => q === p || Math.hypot(x - u, y - v) > 25))
    .map(([p, [x, y]]) => [x, y, String(p.closest('g.trace').__data__[0].trace.customdata[p.__data__.i][0])]);
}"""


def shown_centroid(page) -> tuple[str | None, str, str]:
    """(ring, picker, address): the three places the selected centroid shows."""
    picker = page.get_by_role("combobox", name="Centroid", exact=True).input_value().split(":")[0]
    return page.evaluate(RING_ID), picker, query(page).get("centroid", "")


def settled(page, cid: str) -> tuple[str | None, str, str]:
    """What the page shows once it has stopped rerunning after a click on `cid` (a late rerun may still come)."""
    with contextlib.suppress(PlaywrightTimeout):  # a ring that never gets there shows in what is returned
        page.wait_for_function(f"c => ({RING_ID})() === c", arg=cid, timeout=15_000)
    for _ in range(3):  # idle twice in a row, a second apart: a click can set off a second run
        idle(page)
        page.wait_for_timeout(1000)
    idle(page)
    return shown_centroid(page)


def test_every_map_click_writes_the_address(server, page):
    """The address names the selected centroid after every map click, single or in quick succession: the
    issue saw 3 of 8 clicks leave `?centroid=` at the previous id, and that address opened the wrong centroid."""
    url, ws = server
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(f"{url}/centroids?centroid=0")
    page.wait_for_selector(".stPlotlyChart .main-svg", timeout=120_000)
    idle(page)
    seen: list[tuple[tuple[str, ...], tuple[str | None, str, str]]] = []  # (clicked, (ring, picker, address))
    for i in range(8):
        recent = {s[1][0] for s in seen[-2:]}
        points = [p for p in page.evaluate(CLEAR_POINTS) if p[2] not in recent]
        assert points, "no map point is clear of the others"
        x, y, cid = points[(3 * i) % len(points)]
        page.mouse.click(x, y)
        clicked: tuple[str, ...] = (cid,)
        if i % 2:  # a second click while the first one's run is still going
            page.wait_for_timeout(450)  # past plotly's double-click time (300 ms), which clears the selection
            more = [p for p in points if p[2] != cid and abs(p[0] - x) + abs(p[1] - y) > 60]
            x, y, cid = more[i % len(more)]
            page.mouse.click(x, y)
            clicked = (*clicked, cid)
        seen.append((clicked, settled(page, cid)))
    # Every time, the ring, the picker and the address name the same centroid, one that was just clicked: the
    # last click, or the first of two when Streamlit's chart dropped the second (its redraw after the first
    # click clears the selection); never the one from before the clicks, which the issue saw.
    assert all(len(set(shown)) == 1 and shown[0] in clicked for clicked, shown in seen), seen
    assert all(shown[0] == clicked[0] for clicked, shown in seen if len(clicked) == 1), seen
    fresh = page.context.new_page()  # the last address opens the centroid the page showed
    fresh.goto(page.url)
    fresh.wait_for_selector(".stPlotlyChart .main-svg", timeout=120_000)
    idle(fresh)
    expect(fresh.get_by_role("combobox", name="Centroid", exact=True)).to_have_value(re.compile(rf"^{seen[-1][1][0]}:"))
    fresh.close()
    no_exception(page)
    # two sessions (and every earlier test's) on one server process: the model was loaded once, not per session
    assert server_log(ws).count("loaded the model") == 1


def test_test_connection_says_when_the_llm_is_unreachable(server, page):
    url, _ = server
    port = free_port()  # nothing listens there
    page.goto(f"{url}/cache")
    page.get_by_text("Cache review").first.wait_for(timeout=120_000)
    idle(page)
    page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").filter(has_text="Explainer").click()
    page.get_by_role("option", name="OpenAI-compatible").click()
    field = page.get_by_role("textbox", name="Base URL")
    field.fill(f"http://127.0.0.1:{port}/v1")
    field.press("Enter")
    idle(page)
    page.get_by_role("button", name="Test connection").click()
    error = page.locator("[data-testid='stSidebar'] [data-testid='stAlertContentError']")
    error.wait_for(timeout=60_000)
    assert f"127.0.0.1:{port}" in error.inner_text() and "failed" in error.inner_text()
    no_exception(page)


def test_html_export_opens_offline_with_working_cards_and_inert_payloads(server, page, tmp_path):
    url, ws = server
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.set_viewport_size({"width": 1400, "height": 1000})
    text = f"Hello {XSS} world."
    page.goto(f"{url}/?{urlencode({'text': text})}")
    page.wait_for_selector(".ai-chip", timeout=120_000)
    idle(page)
    cache = CentroidExplanationCache(ws / "explanations")
    cid = int(page.locator(".ai-chip").first.get_attribute("data-centroid"))
    rec = cache.get(cid)  # keep its provenance, so the app takes the hostile text as current
    rec.explanation = f"hostile {XSS}"
    cache.set(rec)
    page.get_by_role("button", name="Analyze").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.ai-tip')].some(e => e.textContent.includes('hostile <img'))",
        timeout=60_000,
    )
    export = tmp_path / "analysis.html"
    download_after_idle(page, "Download as HTML", export)
    offline = page.context.new_page()
    requests: list[str] = []
    offline.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    def only_the_file(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            requests.append(route.request.url)
            route.abort()

    offline.route("**/*", only_the_file)
    offline.goto(export.as_uri())
    chips = offline.locator(".ai-chip")
    assert chips.count() == page.locator(".ai-chip").count()
    chips.first.hover()
    tip = chips.first.locator(".ai-tip")
    offline.wait_for_function("el => getComputedStyle(el).visibility === 'visible'", arg=tip.element_handle())
    card = tip.inner_text()
    assert "hostile <img" in card and "confidence" in card and "margin" in card and "explainer" in card
    assert offline.locator("table tr").count() == chips.count() + 1
    assert "Meta-interpretation" in offline.content()
    offline.wait_for_timeout(500)
    assert offline.evaluate("() => window.__pwned") is None and dialogs == []
    assert offline.locator("script, img, iframe").count() == 0
    assert requests == []  # nothing even tried to load
    offline.close()


def download_after_idle(page, name: str, path) -> None:
    """Click a download button once the page is idle, and save what it gives. A rerun that starts between
    the idle check and the click (the address write after an analysis can cause one) redraws the button and
    the click is lost, as it would be for a person, who then clicks again: so up to three clicks."""
    for attempt in range(3):
        idle(page)
        try:
            with page.expect_download(timeout=30_000) as download:  # the page builds the file on click
                page.get_by_role("button", name=name).click()
            download.value.save_as(path)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise


def pick_centroid(page, cid: int, current: str) -> None:
    """Choose a centroid on the cache page and wait until its edit field shows `current`.

    A rerun that lands while the option list is open closes it, so the pick is retried after the page idles."""
    for attempt in range(3):
        idle(page)
        sel = page.locator("[data-testid='stSelectbox']").filter(has_text="Centroid").last
        sel.click()
        page.keyboard.type(str(cid))  # the option list is virtualised: filter it so the option is rendered
        option = page.get_by_role("option", name=str(cid), exact=True)
        try:
            option.wait_for(timeout=15_000)
            option.click()
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
            page.reload()
            page.get_by_text("Edit the", exact=False).first.wait_for(timeout=60_000)
    edit_field_shows(page, current)


def edit_field_shows(page, value: str) -> None:
    """Wait until the cache page's one edit field holds `value` (a rerun redraws it)."""
    page.wait_for_function(
        "v => { const f = [...document.querySelectorAll('input[aria-label=\"Edit this explanation\"]')];"
        " return f.length === 1 && f[0].value === v; }",
        arg=value,
        timeout=30_000,
    )


def test_an_import_shows_what_it_wrote(server, page, tmp_path):
    """After an import the table and the edit field show the imported text, not what they showed before."""
    from autointerp.explain.cache_io import export_records

    url, ws = server
    cache = CentroidExplanationCache(ws / "explanations")
    cid = cache.ids()[0]
    rec = cache.get(cid)
    original = rec.explanation
    backup = tmp_path / "explanations.json"
    backup.write_text(export_records(cache.all(), "json"))
    rec.explanation = "Colours and shapes"  # an edit made since the export (provenance kept: it is current)
    cache.set(rec)
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(f"{url}/cache")
    page.get_by_text("Edit the", exact=False).first.wait_for(timeout=120_000)
    pick_centroid(page, cid, "Colours and shapes")
    n = len(cache.ids())
    done = page.get_by_text(f"Imported {n} explanation{'s' if n != 1 else ''}.")
    for attempt in range(3):  # a rerun that redraws the uploader or the button as they are used drops that use
        idle(page)
        if not page.get_by_text(backup.name).count():
            page.locator("[data-testid='stFileUploader'] input[type=file]").set_input_files(str(backup))
            page.get_by_text(backup.name).first.wait_for(timeout=20_000)
            idle(page)
        page.get_by_role("button", name="Import", exact=True).click()
        try:
            done.wait_for(timeout=20_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    restored = CentroidExplanationCache(ws / "explanations").get(cid)
    assert restored.explanation == original and restored.info.imported  # new text: measured here, marked
    edit_field_shows(page, original)
    no_exception(page)
    assert "set via the Session State API" not in server_log(ws)  # the refilled field drew no ~30-line warning


def test_edit_persists_after_reload_and_scripts_never_run(server, page):
    url, ws = server
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(url)
    page.wait_for_selector(".ai-chip", timeout=120_000)
    cid = int(page.locator(".ai-chip").last.get_attribute("data-centroid"))  # the final "."
    hostile = f"Sentence-final punctuation {XSS}"
    page.goto(f"{url}/cache")
    page.get_by_text("Edit the", exact=False).first.wait_for(timeout=60_000)  # the page body, not the nav link
    cache = CentroidExplanationCache(ws / "explanations")
    pick_centroid(page, cid, cache.get(cid).explanation)
    field = page.get_by_label("Edit this explanation")
    field.fill(hostile)
    field.press("Enter")
    page.get_by_role("button", name="Save edit").click()
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(1000)
    rec = CentroidExplanationCache(ws / "explanations").get(cid)
    assert rec.explanation == hostile and rec.metadata["human_edited"]
    assert rec.metadata["score"]["method"] == "exact-rule" and rec.metadata["score"]["n_pos"] > 0  # rescored
    page.reload()
    page.get_by_text("Edit the", exact=False).first.wait_for(timeout=60_000)
    pick_centroid(page, cid, hostile)
    # shown as text in the analysis tooltips and the browser, never run
    page.goto(url)
    page.wait_for_selector(".ai-chip", timeout=60_000)
    page.get_by_role("textbox", name="Text to analyse").fill(f"Hello {XSS} world.")
    page.get_by_role("button", name="Analyze").click()
    page.wait_for_function(  # the hostile explanation arrives as text inside a tooltip
        "() => [...document.querySelectorAll('.ai-tip')].some(e => e.textContent.includes('<img src=x'))",
        timeout=60_000,
    )
    assert page.locator(".ai-chips img").count() == 0 and page.locator(".ai-chips script").count() == 0
    page.goto(f"{url}/centroids")
    page.wait_for_selector(".stPlotlyChart .main-svg", timeout=60_000)
    page.get_by_text("Search and filter").click()
    search = page.get_by_role("textbox", name="Search explanations")
    search.fill("Sentence-final")
    search.press("Enter")
    page.get_by_text("<img src=x", exact=False).first.wait_for(timeout=60_000)
    assert page.evaluate("() => window.__pwned") is None
    assert dialogs == []
    no_exception(page)
