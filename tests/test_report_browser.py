"""The HTML report in a real browser: headless Chromium with the network off.

The page has a self-test hook: opened with ``#selftest`` it clicks the ETA header
of the batch table and writes the resulting order of names and every image's
natural width into ``<pre id="selftest">``, which ``--dump-dom`` returns.  A
screenshot then shows the page is not blank.  Chromium is the Debian package
``chromium`` (``.ci/run`` installs it when missing); without it the test is
skipped and says why.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from plot_scenarios import berlin_scenario

from labelsim.forecasting import forecast
from labelsim.report import build_report

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: No network: every host resolves to nothing and every request goes to a closed local port.
OFFLINE = (
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
)


def _browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no headless browser: install the Debian package `chromium` (apt-get install -y chromium); "
                ".ci/run does this before the tests")


def _run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-extensions", "--hide-scrollbars", "--mute-audio", f"--user-data-dir={profile}", *OFFLINE, *args,
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=90)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"{browser} could not be run headless here: {exc.__class__.__name__}: {exc}")
    return done


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """A report whose scenario order (idle, b, a) is neither the name nor the ETA order."""
    spec = berlin_scenario()
    batches = spec["projects"][0]["batches"]
    idle = {"name": "idle", "items": 10, "labeling_queue": 3, "reward": 0.05, "time_limit": "1h"}  # never launched
    spec["projects"][0]["batches"] = [idle, batches[1], batches[0]]
    fc = forecast(spec, 6, seed=2, keep_runs=True)
    report = build_report(fc, deadline="3h")
    folder = tmp_path_factory.mktemp("report")
    path = folder / "report.html"
    path.write_text(report.html, encoding="utf-8")
    return path, fc, report


def test_report_in_headless_chromium(page, tmp_path):
    path, fc, report = page
    browser = _browser()
    dom = _run(browser, tmp_path / "profile-dom", "--virtual-time-budget=10000", "--dump-dom",
               path.as_uri() + "#selftest")
    if dom.returncode != 0 or "<html" not in dom.stdout:
        pytest.skip(f"{browser} did not render the page (exit {dom.returncode}): {dom.stderr.strip()[-300:]}")
    found = re.search(r'<pre id="selftest" data-done="1">(.*?)</pre>', dom.stdout, re.S)
    assert found, "the page's self-test did not run (JavaScript blocked or failing)"
    result = json.loads(html.unescape(found.group(1)))

    # every figure has loaded, from the page itself (the CSP forbids anything else)
    assert len(result["images"]) == len(report.figures) == 5
    assert all(width > 0 for width in result["images"]), result["images"]

    # sorting by ETA is chronological; a batch without an ETA goes last
    eta = fc.eta.set_index("batch")["eta_p50"]
    expected = sorted(eta.index, key=lambda b: (eta[b] != eta[b], eta[b].value if eta[b] == eta[b] else 0))
    assert expected == ["a", "b", "idle"]
    assert result["names"] == expected
    assert result["eta_keys"][-1] == "Infinity"
    assert "not launched" in dom.stdout
    # a screenshot is not blank
    shot = tmp_path / "shot.png"
    done = _run(browser, tmp_path / "profile-shot", "--window-size=1200,1800", f"--screenshot={shot}",
                "--virtual-time-budget=10000", path.as_uri())
    assert shot.exists(), f"no screenshot: {done.stderr.strip()[-300:]}"
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)[..., :3]
    rgb = (pixels.reshape(-1, 3) * 255).astype(np.int64)
    colours = np.unique(rgb[:, 0] << 16 | rgb[:, 1] << 8 | rgb[:, 2])
    assert len(colours) > 50, "the screenshot is (nearly) one colour"
    dark = (pixels.mean(axis=2) < 0.5).mean()
    assert 0.002 < dark < 0.5, f"share of dark pixels {dark:.4f}: no text drawn, or an all-dark page"
