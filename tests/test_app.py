"""The interactive page (``symbiosis app``), served for real and driven in the system's Chromium.

The browser test starts the command in a folder outside the repository, opens the page
headless with Playwright for Python (``executable_path``: the distribution's chromium; no
browser is ever downloaded), moves a slider, resets, steps, plays, picks a firm, and checks
that the network and the plots change and that no error shows. It leaves a screenshot in
``results/app.png``. Without Chromium or Playwright it skips, saying why, unless
``SYMBIOSIS_REQUIRE_BROWSER=1`` (set by ``.ci/run``), which makes that a failure.
"""

import inspect
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from simulation.cli import main
from simulation.output.app import (
    CHOICES,
    CONTROLS,
    ParkModel,
    default_scenario,
    model_params,
    network_figure,
    start,
)

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "results" / "app.png"
SERVER_START_S = 60  # to the first page served; about 5 s on the project's machine
WAIT_MS = 20_000  # the longest any one thing on the page may take to appear
PLAY_MS = 40_000  # for two months played: a month's redraw takes about a second on 2 busy cores


# -- the page's model, without a browser --------------------------------------------------------
def test_every_slider_is_a_keyword_of_the_model_and_a_path_of_the_scenario():
    assert [c.name for c in (*CONTROLS, *CHOICES)] == list(inspect.signature(ParkModel).parameters)[2:]
    params = model_params(default_scenario())
    assert set(params) == {"scenario_file", "seed", *(c.name for c in (*CONTROLS, *CHOICES))}
    assert params["contract_terms"]["value"] == "bargained" and "simple" in params["contract_terms"]["values"]
    model = ParkModel(**{name: p if isinstance(p, str) else p["value"] if isinstance(p, dict) else p.value
                         for name, p in params.items()})
    assert model.config.overrides == ()  # sliders where the scenario has them: the scenario as written, schedules kept
    assert model.policy_timeline.at(model.n_periods - 1).landfill_tax_eur_per_t == 90.0


def test_a_moved_slider_is_an_override_for_the_whole_run():
    model = ParkModel(landfill_tax=20.0, contract_months=12, holdup=0.5, contract_terms="simple", seed=7)
    assert model.config.overrides == ("policy.landfill_tax_eur_per_t=20.0", "contract.duration_months=12",
                               "contract.holdup_share=0.5", 'contract.terms="simple"')
    assert model.params.contract.terms == "simple"
    assert model.seed == 7 and model.params.contract.duration_months == 12
    assert {model.policy_timeline.at(t).landfill_tax_eur_per_t for t in (0, model.n_periods - 1)} == {20.0}


def test_the_network_figure_draws_a_link_per_delivering_contract():
    model, _ = start(default_scenario())
    assert len(network_figure(model).legends) == 0  # nothing delivers before the first month
    for _ in range(3):
        model.step()
    delivering = len(model.recorder.delivered_in(model.period - 1)[0])
    figure = network_figure(model, selected=0)
    arrows = [a for ax in figure.axes[:1] for a in ax.texts if a.arrow_patch is not None]
    assert delivering > 0 and len(arrows) == delivering
    assert len(figure.legends) == 1


def test_app_refuses_a_missing_scenario_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["app", "nosuch.toml"]) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("error: nosuch.toml: ") and "file not found" in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_app_refuses_a_port_in_use_in_one_line(tmp_path, monkeypatch, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["app", "--port", str(port)]) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith(f"error: --host/--port: cannot listen on 127.0.0.1:{port}: "), stderr
    assert len(stderr.strip().splitlines()) == 1


# -- the page in a browser --------------------------------------------------------------------
def chromium():
    """The system Chromium, or a skip saying what is missing (a failure where a browser is required)."""
    try:
        import playwright.sync_api  # noqa: F401
        missing = None
    except ImportError:
        missing = "Playwright for Python is not installed (pip install -e '.[test]')"
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if missing is None and path is None:
        missing = "no chromium on this machine (e.g. apt-get install chromium)"
    if missing is None:
        return path
    if os.environ.get("SYMBIOSIS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"SYMBIOSIS_REQUIRE_BROWSER=1, but {missing}")
    pytest.skip(missing)


class Server:
    """``symbiosis app --port 0`` in a folder of its own; its stderr read as it comes."""

    def __init__(self, folder):
        self.lines = []
        self.process = subprocess.Popen([sys.executable, "-m", "simulation", "app", "--port", "0"], cwd=folder,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        threading.Thread(target=lambda: self.lines.extend(self.process.stderr), daemon=True).start()

    def url(self):
        """The page's address, once the server answers there."""
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline and self.process.poll() is None:
            found = [m[0] for line in self.lines if (m := re.search(r"http://\S+", line))]
            if found and self._answers(found[0]):
                return found[0]
            time.sleep(0.2)
        pytest.fail(f"the page did not come up in {SERVER_START_S} s; the server said:\n{self.log}")

    @staticmethod
    def _answers(url):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    @property
    def log(self):
        return "".join(self.lines)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def serve(tmp_path):
    """Starts the page when called (after the browser is found), stops it after the test."""
    started = []
    # In a folder outside the repository: the default scenario is found from anywhere.
    yield lambda: started.append(Server(tmp_path)) or started[-1]
    for server in started:
        server.stop()


def test_the_page_in_a_browser(serve):
    from playwright.sync_api import expect, sync_playwright

    browser_path = chromium()
    server = serve()
    url = server.url()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, headless=True,
                                             args=["--no-sandbox"] if os.geteuid() == 0 else [])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})  # the whole page in the screenshot
            page.set_default_timeout(WAIT_MS)
            script_errors = []
            page.on("pageerror", lambda error: script_errors.append(str(error)))
            drive(page, url, expect)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=SCREENSHOT)
        finally:
            browser.close()
    assert not script_errors, script_errors
    assert "Traceback" not in server.log, server.log


def drive(page, url, expect):
    """Open the page, move a slider, reset, step, play, pick a firm; check what changes and that nothing fails."""
    outcome, firm = page.locator(".symbiosis-outcome"), page.locator(".symbiosis-firm")
    page.goto(url)
    expect(outcome).to_contain_text("month 0 of 240")
    network, plots = images(page)
    slider = page.locator(".v-input", has_text="Landfill tax").get_by_role("slider")
    expect(slider).to_have_attribute("aria-valuenow", "60")
    slider.focus()
    page.keyboard.press("ArrowRight")  # one step, 5 EUR/t (keys pressed faster than the server answers can be lost)
    expect(slider).to_have_attribute("aria-valuenow", "65")
    page.get_by_role("button", name="Reset").click()
    expect(outcome).to_contain_text("policy.landfill_tax_eur_per_t=65.0")
    expect(outcome).to_contain_text("landfill tax 65 EUR/t")
    for month in (1, 2):
        page.get_by_role("button", name="Step").click()
        expect(outcome).to_contain_text(f"month {month} of 240")
    page.get_by_role("button", name="▶").click()  # play until two more months have run (each redraws every panel)
    expect(outcome).to_contain_text(re.compile(r"month ([4-9]|\d\d+) of 240"), timeout=PLAY_MS)
    # ...and until links deliver (the first take a few months: searches, then trucks or pipelines to build).
    expect(outcome).to_contain_text(re.compile(r"links delivering\s*[1-9]"), timeout=PLAY_MS)
    page.get_by_role("button", name="❚❚").click()
    expect(page.get_by_role("button", name="Step")).to_be_enabled()  # paused
    firm.locator(".v-select").click()
    page.locator(".v-menu__content .v-list-item", has_text=re.compile(r"^\s*cement\s*$")).click()
    expect(firm).to_contain_text("Cement works")
    expect(firm).to_contain_text("partners")
    network_now, plots_now = images(page)
    assert network_now != network, "the network did not change"
    assert all(a != b for a, b in zip(plots, plots_now)) and len(plots) == len(plots_now) == 3, "a plot did not change"
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and "Error" not in body, body[:2000]
    expect(page.locator(".v-alert")).to_have_count(0)  # Mesa shows a failed step as an alert


def images(page, tries=5):
    """Pixels of the network and of each plot (element screenshots: an <img> holds only a blob address).

    A figure the server is still redrawing is replaced under the screenshot; then all are taken again.
    """
    from playwright.sync_api import Error

    for _ in range(tries):
        try:
            network = page.locator(".symbiosis-network img").screenshot()
            plots = page.locator(".v-window-item img:not(.symbiosis-network img)")
            return network, [plots.nth(i).screenshot() for i in range(plots.count())]
        except Error as exc:
            if "not attached" not in str(exc):
                raise
    pytest.fail(f"the figures kept changing over {tries} tries")
