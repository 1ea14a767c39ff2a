"""report.html in a real browser: headless Chromium renders its tables and every chart.

Chromium is part of the project's set-up (scripts/bootstrap.sh installs Debian's package, as
it installs Java), so a missing browser fails this test rather than skipping it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from PIL import Image

from analysis.report import build_report
from tests.synthetic import request, write_run

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "chromium not on PATH: run scripts/bootstrap.sh (installs Debian's chromium)"
    return found


def browse(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
                          capture_output=True, text=True, timeout=120, check=True)


def report(tmp_path: Path) -> Path:
    """A run with a small-sample pattern (its chart must say so) and a judged one."""
    reqs = [("get_conversation", request(1500 + (k * 37) % 900, at_s=k / 20)) for k in range(1200)]
    reqs += [("update_status", request(2500 + (k * 53) % 1400, at_s=k / 4, capacity=1.0)) for k in range(18)]
    run_dir = write_run(tmp_path, "browser", reqs)
    build_report(run_dir)
    return run_dir / "report.html"


def test_report_renders_every_chart_in_chromium(tmp_path: Path) -> None:
    page = report(tmp_path)
    html = page.read_text()
    charts = html.count('<img class="chart"')
    assert charts >= 4
    dom = browse(page, tmp_path / "profile-dom", "--dump-dom").stdout
    rendered = re.findall(r'<img class="chart"[^>]*data-rendered="(\d+)x(\d+)"', dom)
    assert len(rendered) == charts, "an image was not decoded by the browser"
    assert all(int(w) > 100 and int(h) > 100 for w, h in rendered), rendered
    assert "not enough data (n=18; p99 needs 1,000)" in dom  # the verdict table
    shot = tmp_path / "report.png"
    browse(page, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1280,4000")
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 4000)
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 500, "the page looks blank or text-only"
    # The charts' lines and markers: some clearly saturated pixels (text alone is grey).
    saturated = sum(n for n, (r, g, b) in colours if max(r, g, b) - min(r, g, b) > 80)
    assert saturated > 2000
