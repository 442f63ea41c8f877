"""The dashboard in a real headless browser (Debian's Chromium through chromedriver), served by
``manyheads monitor serve``'s server: no console error, the charts drawn, a screenshot saved."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from manyheads.monitor import parse_monitor_config
from manyheads.monitor._serve import make_server

pytestmark = pytest.mark.slow

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser test needs Chromium in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium that keeps the page's console log (goog:loggingPrefs)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (extra 'monitor')")
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        _unavailable("chromium / chromium-driver are not installed (.ci/services.sh)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1100",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def test_dashboard_renders_without_console_errors(
    monitored: dict[str, Any], browser: Any, tmp_path: Path
) -> None:
    config = parse_monitor_config(monitored["config"])
    server = make_server(config, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        browser.get(f"http://127.0.0.1:{server.server_address[1]}/")
        errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        widths = browser.execute_script(
            "return Array.from(document.querySelectorAll('svg.topic-chart polyline.share'))"
            ".map(p => p.getBBox().width)"
        )
        n_alerts = browser.execute_script(
            "return document.querySelectorAll('svg.topic-chart circle.alert').length"
        )
        rows = browser.execute_script("return document.querySelectorAll('#latest tr').length")
        shot = tmp_path / "dashboard.png"
        assert browser.save_screenshot(str(shot))
    finally:
        server.shutdown()
        server.server_close()
    assert browser.title == "manyheads monitor"
    assert errors == []
    assert sum(w > 100 for w in widths) >= 5  # the topics' lines are drawn across the chart
    assert n_alerts == 1
    assert rows == 41  # header + the 40 latest articles
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000
