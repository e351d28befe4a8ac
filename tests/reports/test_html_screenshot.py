"""Render the HTML report in headless Chromium and check the page actually paints."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from modelscan_vicious.reports import write_reports


def _chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(candidate)
        if found:
            return found
    return None


@pytest.mark.slow
def test_report_renders_in_headless_chromium(tmp_path, failed_result):
    browser = _chromium()
    if browser is None:
        pytest.skip("headless Chromium not installed (/usr/bin/chromium or chromium on PATH)")
    (html_path,) = write_reports(failed_result, tmp_path, ["html"])
    screenshot = tmp_path / "report.png"
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={screenshot}",
        "--window-size=1200,1600",
        html_path.resolve().as_uri(),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert screenshot.exists(), f"no screenshot; chromium said: {completed.stderr[-2000:]}"
    assert screenshot.stat().st_size > 20_000

    from PIL import Image

    with Image.open(screenshot) as image:
        assert image.size == (1200, 1600)
        pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    assert pixels.std() > 10, "screenshot is (nearly) a single colour"
    banner_red = pixels[:150, :, 0].mean() - pixels[:150, :, 1].mean()
    assert banner_red > 50, "the failed verdict banner at the top should be red"
