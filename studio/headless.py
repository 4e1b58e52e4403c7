"""Driving the studio from a real headless Chromium (the browser tests, tools/bench_studio.py and
the README screenshot): the studio server as a child process on a free loopback port, and a
Selenium session on Debian's chromium + chromium-driver (nothing is downloaded).

IFVC_CHROMIUM and IFVC_CHROMEDRIVER override the browser and driver paths.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1400,1000")
SERVER_START_TIMEOUT_S = 120


def find_chromium() -> tuple[str, str] | None:
    """(chromium, chromedriver) paths, or None when either is missing."""
    browser = os.environ.get("IFVC_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    driver = os.environ.get("IFVC_CHROMEDRIVER") or shutil.which("chromedriver")
    if not (browser and driver and Path(browser).exists() and Path(driver).exists()):
        return None
    return browser, driver


@contextmanager
def studio_server(stream: str | Path | None = None, cwd: str | Path | None = None) -> Iterator[str]:
    """``python -m studio.cli [STREAM] --port 0`` (the real command); yields its URL and stops
    it (SIGTERM, then SIGKILL) when the block ends."""
    cmd = [sys.executable, "-m", "studio.cli", "--port", "0"] + ([str(stream)] if stream else [])
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url: list[str] = []
    got = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("IFVC Studio: ") and not url:
                url.append(line.split()[2])
                got.set()
        got.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not got.wait(SERVER_START_TIMEOUT_S) or not url:
            proc.kill()
            err = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"the studio server did not start: {err.strip()[-500:]}")
        yield url[0]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def chromium(download_dir: str | Path | None = None) -> Iterator[Any]:
    """A Selenium WebDriver on headless Chromium with a fresh profile; downloads go to
    ``download_dir``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_chromium()
    if found is None:
        raise RuntimeError("chromium and chromedriver are needed (Debian: apt-get install chromium chromium-driver)")
    browser, driver_path = found
    with tempfile.TemporaryDirectory(prefix="ifvc-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        if download_dir is not None:
            options.add_experimental_option("prefs", {
                "download.default_directory": str(download_dir), "download.prompt_for_download": False,
                "download.directory_upgrade": True, "safebrowsing.enabled": False})
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
        try:
            if download_dir is not None:
                driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow",
                                                                    "downloadPath": str(download_dir)})
            yield driver
        finally:
            driver.quit()


def choose_file(driver: Any, input_id: str, path: str | Path) -> None:
    """Give a file to one of the page's (hidden) file inputs, as a user picking it would."""
    from selenium.webdriver.common.by import By
    driver.execute_script(f"document.getElementById('{input_id}').hidden = false;")
    driver.find_element(By.ID, input_id).send_keys(str(Path(path).resolve()))


def wait_settled(driver: Any, edits: list[str] | None = None, frame: int | None = None, timeout: float = 60) -> None:
    """Wait until the preview shows the newest request (no request in flight or waiting), for
    the given edits and frame when given."""
    import json

    from selenium.webdriver.support.ui import WebDriverWait

    def done(d: Any) -> bool:
        return bool(d.execute_script(
            "const p = document.getElementById('preview'); const s = window.studio;"
            "return p.dataset.settled === '1' && !s.inflight.length && !s.pending"
            + ("" if edits is None else f" && p.dataset.edits === {json.dumps(json.dumps(edits, separators=(',', ':')))}")
            + ("" if frame is None else f" && p.dataset.frame === '{frame}'") + ";"))
    WebDriverWait(driver, timeout, poll_frequency=0.05).until(done)


def preview_png(driver: Any) -> bytes:
    """The bytes of the PNG the preview shows (the WebSocket's blob, read back losslessly)."""
    import base64
    b64 = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const r = new FileReader(); r.onload = () => done(r.result.split(',')[1]);"
        "r.readAsDataURL(window.studio.lastBlob);")
    return base64.b64decode(b64)


def select_offset_range(driver: Any, first: int, last: int, frame: int) -> None:
    """Set the frame range FIRST..LAST, choose the offset operation and put the playhead on FRAME
    (the steps a user takes before dragging a slider)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    for field, value in (("range-first", first), ("range-last", last)):
        el = driver.find_element(By.ID, field)
        el.clear()
        el.send_keys(str(value), Keys.TAB)
    driver.find_element(By.CSS_SELECTOR, "input[name=op][value=offset]").click()
    scrub = driver.find_element(By.ID, "scrub")
    scrub.click()
    scrub.send_keys(Keys.HOME, *([Keys.ARROW_RIGHT] * frame))
