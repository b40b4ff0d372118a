"""The status page left open in headless Chromium (issue 20): it refreshes itself in place
(the same elements, new values: no flicker), says "disconnected" when greenlb goes away
while keeping the last view, and resumes by itself when greenlb is back, with the new
process's history. Skipped only when Chromium is not installed."""
import pytest

import headless_chromium
from greenlb_testlib import Greenlb, LoadRun, Upstream, artefact, basic_config, wait_until

pytestmark = pytest.mark.skipif(headless_chromium.CHROMIUM is None,
                                reason="chromium not installed")

POLLS = "Number(document.body.dataset.polls || 0)"
LINK = "document.getElementById('link').textContent"
CHART_POINTS = "Number(document.querySelector('div.listener svg.chart').dataset.points || 0)"


@pytest.fixture(scope="module")
def setup():
    with Upstream("a") as a:
        text, port, admin = basic_config([a.address])
        with Greenlb(text) as lb:
            load = LoadRun(port, threads=1, pause=0.01).start()
            try:
                with headless_chromium.LivePage(f"http://127.0.0.1:{admin}/") as page:
                    page.wait_for(f"{POLLS} >= 1 && {CHART_POINTS} > 0",
                                  what="a first poll with history")
                    yield lb, page
            finally:
                load.stop()


def test_refreshes_in_place(setup):
    lb, page = setup
    page.evaluate("window.kept = [document.querySelector('tr[data-state]'),"
                  " document.querySelector('div.listener svg.chart path'),"
                  " document.querySelector('div.listener')]; true")
    polls = page.evaluate(POLLS)
    page.wait_for(f"{POLLS} >= {polls + 2}", what="two more polls")
    # Every poll updated the elements that were there rather than building new ones.
    assert page.evaluate("window.kept.every(node => node.isConnected)")
    assert page.evaluate(LINK) == "● live"


def test_says_disconnected_then_resumes(setup):
    lb, page = setup
    # Enough rounds that the restarted process's numbering is told apart below.
    round_before = page.wait_for("store.round >= 8 && store.round", what="8 rounds")
    lb.proc.kill()
    lb.stop()
    page.wait_for(f"{LINK} === '✗ disconnected'", what="the page to notice")
    banner = page.evaluate("document.getElementById('banner')."
                           "hidden ? '' : document.getElementById('banner').textContent")
    assert banner.startswith("DISCONNECTED: greenlb does not answer"), banner
    # The last view stays, dimmed, rather than going blank.
    assert page.evaluate("document.body.classList.contains('stale')")
    assert page.evaluate("document.querySelectorAll('tr[data-state]').length") == 1
    page.screenshot(artefact("status-page-disconnected.png"))

    lb.start()  # the same config: the same ports
    page.wait_for(f"{LINK} === '● live'", what="the page to resume")
    assert page.evaluate("document.getElementById('banner').hidden")
    assert not page.evaluate("document.body.classList.contains('stale')")
    # It took the new process's history (its rounds started again) and draws it.
    page.wait_for(f"store.round < {round_before} && {CHART_POINTS} > 0",
                  what="the restarted process's history")
