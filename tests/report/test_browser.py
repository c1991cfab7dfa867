"""The report of a real (short) Fashion-MNIST SimCLR run, opened in headless Chromium.

The test trains with the installed `contrastkit` command on a slice of the real
Fashion-MNIST files (2,000 training and 500 test images, 30 steps, one thread, so
training, evaluation and report take seconds), writes the report with the `report`
command, opens it in a Chromium it starts itself, and checks: no console errors, every
section present and visible, every image decoded, and screenshots of the page and of
each section that are not blank. With CI=true a missing Chromium, chromedriver or
selenium fails the test; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from PIL import Image
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

from contrastkit.cli_report import register
from contrastkit.report import REPORT_FILE, SECTION_IDS
from tests.report.fashion_subset import write_fashion_subset

pytestmark = pytest.mark.slow

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    """Fail in CI (the browser test is required there), skip elsewhere."""
    if IN_CI:
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> tuple[str, str]:
    """Paths of the Chromium binary and of chromedriver, or fail/skip with the reason
    (checked before the run is trained, so a skip costs nothing)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        _unavailable("selenium is not installed: pip install selenium")
    binary = next(
        (
            p
            for name in ("chromium", "chromium-browser", "google-chrome")
            if (p := shutil.which(name))
        ),
        None,
    )
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        _unavailable(
            "headless Chromium is needed: apt-get install -y chromium chromium-driver "
            f"(found browser={binary}, chromedriver={driver})"
        )
    return binary, driver


def _script() -> str:
    beside = Path(sys.executable).with_name("contrastkit")
    found = str(beside) if beside.is_file() else shutil.which("contrastkit")
    assert found, "the contrastkit console script is not installed (pip install -e .)"
    return found


@pytest.fixture(scope="module")
def real_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Train a short SimCLR run on real Fashion-MNIST images and write its report."""
    root = tmp_path_factory.mktemp("fashion-report")
    data = write_fashion_subset(root / "fashion-mnist", n_train=2000, n_test=500)
    if data is None:
        _unavailable("Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist")
    run = root / "run"
    # One thread: the test machine is small and shared; oversubscribed threads are far slower.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    train = subprocess.run(
        [
            _script(),
            "train",
            "--dataset",
            "fashion-mnist",
            "--data-dir",
            str(data),
            "--method",
            "simclr",
            "--steps",
            "30",
            "--batch-size",
            "64",
            "--run-dir",
            str(run),
            "--no-evaluate",
            "--no-progress",
            "--threads",
            "1",
            "--set",
            "model.widths=[16,32,64,128]",
            "--set",
            "data.holdout=500",  # kNN-monitor queries: checks at step 23 (one epoch) and 30
            "--set",
            "data.monitor_bank=1500",
            "--set",
            "train.log_every=5",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert train.returncode == 0, train.stdout + train.stderr
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            result = CliRunner().invoke(app, ["report", str(run), "--points", "400", "--bank", "0"])
    finally:
        torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    return run / REPORT_FILE


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _not_blank(png: bytes, what: str, min_std: float) -> None:
    pixels = _pixels(png)
    rgb = pixels.astype(np.int32)
    colours = np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]).size
    assert pixels.std() > min_std and colours > 1, (
        f"{what} looks blank: pixel std {pixels.std():.1f}, {colours} colours"
    )


def test_report_of_a_real_run_renders_in_chromium(
    browser: tuple[str, str], real_report: Path
) -> None:
    binary, driver_path = browser
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",  # containers often run as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.get(real_report.resolve().as_uri())
        WebDriverWait(driver, 30).until(
            lambda d: d.execute_script(
                "return document.readyState === 'complete' && "
                "Array.from(document.images).every(i => i.complete)"
            )
        )
        severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert not severe, f"console errors: {severe}"

        broken = driver.execute_script(
            "return Array.from(document.images).filter(i => i.naturalWidth === 0).length"
        )
        assert driver.execute_script("return document.images.length") >= 5
        assert broken == 0, f"{broken} images did not decode"

        for section_id in SECTION_IDS:
            element = driver.find_element(By.ID, section_id)
            assert element.tag_name == "section"
            assert element.is_displayed(), section_id
            assert element.size["height"] > 40 and element.size["width"] > 200, section_id
            heading = element.find_element(By.TAG_NAME, "h2")
            assert heading.is_displayed() and heading.text.strip(), section_id
            missing = element.find_elements(By.CSS_SELECTOR, "p.missing")
            assert not missing, f"{section_id}: {missing[0].text}"
            for img in element.find_elements(By.TAG_NAME, "img"):
                assert img.is_displayed() and img.size["height"] > 50, section_id
            driver.execute_script("arguments[0].scrollIntoView();", element)
            _not_blank(element.screenshot_as_png, f"section {section_id}", min_std=5.0)

        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(int(height) + 100, 12000))
        page = driver.get_screenshot_as_png()
        (real_report.parent / "report" / "browser_screenshot.png").write_bytes(page)
        _not_blank(page, "the page", min_std=20.0)
    finally:
        driver.quit()
