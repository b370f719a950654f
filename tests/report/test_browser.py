"""The report renders in a real browser: a headless Chromium screenshot that is not blank."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mixlab.report import write_report
from tests.report.fakerun import AFFINITY_CSV, make_run, png_size

CHROMIUM = Path("/usr/bin/chromium") if Path("/usr/bin/chromium").exists() else None
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-extensions", "--hide-scrollbars")
WIDTH, HEIGHT = 1280, 2400


def screenshot(page: Path, out: Path, profile: Path) -> Path:
    """Render ``page`` with headless Chromium to ``out`` (PNG)."""
    command = [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={out}",
               f"--window-size={WIDTH},{HEIGHT}", page.resolve().as_uri()]
    subprocess.run(command, capture_output=True, timeout=120, check=True)
    return out


@pytest.mark.skipif(CHROMIUM is None, reason="/usr/bin/chromium is not installed (apt-get install -y chromium)")
def test_chromium_renders_a_non_blank_page(tmp_path):
    import matplotlib.image
    import numpy as np

    run = make_run(tmp_path)
    (run / "affinity.csv").write_text(AFFINITY_CSV)
    page = write_report(run, out=tmp_path / "report.html")
    shot = screenshot(page, tmp_path / "shot.png", tmp_path / "profile")
    assert png_size(shot.read_bytes()) == (WIDTH, HEIGHT)
    pixels = matplotlib.image.imread(shot)[..., :3]
    rgb = (pixels * 255).round().astype(np.uint32).reshape(-1, 3)
    colours = np.unique(rgb[:, 0] << 16 | rgb[:, 1] << 8 | rgb[:, 2])
    assert len(colours) > 1000  # text, tables and plots; a blank or error page has a handful
    dark = (pixels.mean(axis=-1) < 0.5).mean()
    assert 0.005 < dark < 0.5  # some ink, but not a black page
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)
