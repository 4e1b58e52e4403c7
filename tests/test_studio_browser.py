"""End to end in a real headless Chromium (Selenium on Debian's chromium + chromium-driver,
installed by .ci/run): the studio command serves the page, a stream is opened with the file
picker, the yaw slider is dragged over a frame range, and the preview the page shows (its PNG,
read back losslessly) must be byte-identical to ifvc-decode's output for the edit the page lists,
with the head measurably turned; the edited stream and the MP4 are exported through the
browser's downloads and decoded with ifvc-decode; undo/redo; and the bad inputs (a truncated
stream, a photo without a face, an edit outside the stream) give one line in the page.

Skipped, with the reason, when chromium or chromedriver is missing. Every wait is on an
explicit page state with a bounded timeout; the server runs on a free loopback port and is
stopped by the fixture."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from studio.headless import (chromium, choose_file, find_chromium, preview_png, select_offset_range, studio_server,
                             wait_settled)

pytestmark = pytest.mark.skipif(
    find_chromium() is None,
    reason="headless browser tests need chromium and chromedriver (Debian: apt-get install chromium "
           "chromium-driver; .ci/run installs them)")

ROOT = Path(__file__).resolve().parents[1]
STREAM = ROOT / "conformance" / "streams" / "face_synthetic_motion_eg.ifvc"     # 25 frames, 256x256
TIMEOUT = 90


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads: Path):  # type: ignore[no-untyped-def]
    with studio_server(cwd=ROOT) as url, chromium(downloads) as driver:
        driver.set_script_timeout(TIMEOUT)
        driver.get(url)
        yield driver


def _wait(driver, condition, what: str, timeout: float = TIMEOUT):  # type: ignore[no-untyped-def]
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition, message=what)


def _js(driver, script: str):  # type: ignore[no-untyped-def]
    return driver.execute_script(script)


def _messages(driver) -> str:  # type: ignore[no-untyped-def]
    return _js(driver, "return document.getElementById('messages').innerText")


def _wait_message(driver, text: str) -> str:  # type: ignore[no-untyped-def]
    _wait(driver, lambda d: text in _messages(d), f"a message containing {text!r}")
    return _messages(driver)


def _open(driver, path: Path) -> None:  # type: ignore[no-untyped-def]
    before = _js(driver, "return window.studio.session")
    choose_file(driver, "open-stream", path)
    _wait(driver, lambda d: _js(d, "return window.studio.session") not in (None, before), "the stream to open")
    wait_settled(driver, [], 0, TIMEOUT)


def _decode(stream: Path, out: Path, edits: list[str]) -> np.ndarray:
    """ifvc-decode's frames (planar RGB .rgb output) as N x H x W x 3."""
    cmd = [sys.executable, "-m", "ref_decoder.cli", str(stream), "-o", str(out), "--quiet"]
    for e in edits:
        cmd += ["--edit", e]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, timeout=300)
    planes = np.frombuffer(out.read_bytes(), np.uint8).reshape(-1, 3, 256, 256)
    return planes.transpose(0, 2, 3, 1)


def _yaw(rgb: np.ndarray) -> float:
    from ref_encoder.analysis import FaceAnalyzer
    with FaceAnalyzer(tracking=False) as fa:
        found = fa.analyze_frame(np.ascontiguousarray(rgb))
    assert found.face_found
    return float(found.semantics[0])


def _download(downloads: Path, suffix: str, before: set[Path]) -> Path:
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:        # a bounded wait for the browser's download to complete
        done = [p for p in downloads.glob(f"*{suffix}") if p not in before]
        if done and not list(downloads.glob("*.crdownload")):
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} download in {downloads}")


def test_drag_yaw_preview_is_the_decoders_then_export(browser, downloads: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    d = browser
    _open(d, STREAM)
    assert "25 frames, 256x256" in d.find_element(By.ID, "stream-info").text
    select_offset_range(d, 5, 15, 10)        # frames 5-15, offset, playhead on frame 10
    wait_settled(d, [], 10, TIMEOUT)
    # drag the yaw slider to the right in small steps, as a hand would
    slider = d.find_element(By.ID, "slider-head_yaw")
    frames_before = _js(d, "return window.studio.frameTimes.length")
    drag = ActionChains(d).click_and_hold(slider)
    for _ in range(12):
        drag.move_by_offset(6, 0).pause(0.05)
    drag.release().perform()
    edits = _js(d, "return window.studio.edits")
    assert len(edits) == 1 and re.fullmatch(r"head_yaw:offset=[0-9.]+@5-15", edits[0]), edits
    offset = float(edits[0].split("=")[1].split("@")[0])
    assert offset > 5
    wait_settled(d, edits, 10, TIMEOUT)
    assert _js(d, "return window.studio.frameTimes.length") > frames_before     # it previewed while dragging
    assert f"--edit {edits[0]}" in d.find_element(By.ID, "cli").text

    shown = cv2.imdecode(np.frombuffer(preview_png(d), np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
    edited = _decode(STREAM, tmp_path / "edited.rgb", edits)
    original = _decode(STREAM, tmp_path / "original.rgb", [])
    assert np.array_equal(shown, edited[10]), "the preview is not ifvc-decode's frame for the same edit"
    turned = _yaw(shown) - _yaw(original[10])       # measured on the pictures by the face analysis
    assert turned > offset / 3, f"the head turned {turned:.1f} degrees for an offset of {offset}"

    # export the edited stream and decode it with ifvc-decode
    before = set(downloads.iterdir())
    d.find_element(By.ID, "export-stream").click()
    exported = _download(downloads, ".ifvc", before)
    _wait_message(d, f"exported {exported.name}")
    reference = tmp_path / "reference.ifvc"
    subprocess.run([sys.executable, "-m", "tools.bitstream_editor", str(STREAM), "-o", str(reference),
                    "--edit", edits[0]], cwd=ROOT, check=True, capture_output=True, timeout=120)
    assert exported.read_bytes() == reference.read_bytes()
    redecoded = _decode(exported, tmp_path / "exported.rgb", [])
    assert redecoded.shape[0] == 25 and not np.array_equal(redecoded[10], original[10])

    before = set(downloads.iterdir())
    d.find_element(By.ID, "export-mp4").click()
    mp4 = _download(downloads, ".mp4", before)
    cap = cv2.VideoCapture(str(mp4))
    count = 0
    while cap.read()[0]:
        count += 1
    assert count == 25

    # undo / redo
    d.find_element(By.ID, "undo").click()
    wait_settled(d, [], 10, TIMEOUT)
    assert "--edit" not in d.find_element(By.ID, "cli").text
    d.find_element(By.ID, "redo").click()
    wait_settled(d, edits, 10, TIMEOUT)
    assert np.array_equal(cv2.imdecode(np.frombuffer(preview_png(d), np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1],
                          edited[10])


def test_edit_outside_the_stream(browser) -> None:
    from selenium.webdriver.common.by import By
    d = browser
    _open(d, STREAM)
    box = d.find_element(By.ID, "edit-text")
    box.send_keys("head_yaw:set=10@30-40")
    d.find_element(By.ID, "edit-add").click()
    text = _wait_message(d, "covers no frame")
    assert "the stream has 25 frames" in text and "Traceback" not in text
    _wait(d, lambda dd: _js(dd, "return window.studio.edits.length") == 0, "the refused edit to be taken back")


def test_truncated_stream(browser, tmp_path: Path) -> None:
    d = browser
    bad = tmp_path / "truncated.ifvc"
    bad.write_bytes(STREAM.read_bytes()[:400])
    choose_file(d, "open-stream", bad)
    text = _wait_message(d, "cannot open truncated.ifvc")
    assert "is not a valid IFVC stream" in text and "Traceback" not in text


def test_photo_without_a_face(browser, tmp_path: Path) -> None:
    d = browser
    _open(d, STREAM)
    wall = tmp_path / "wall.png"
    cv2.imwrite(str(wall), np.full((300, 300, 3), 140, np.uint8))
    choose_file(d, "character-photo", wall)
    text = _wait_message(d, "no face found in wall.png")
    assert "Traceback" not in text


def test_character_photo_drives_the_face(browser, tmp_path: Path) -> None:
    """A face photo (here a frame of another clip's stream) becomes the character: the preview
    is ifvc-decode --character's frame."""
    from ref_decoder.decoder import Decoder
    d = browser
    _open(d, STREAM)
    other = ROOT / "conformance" / "streams" / "face_real_cabac.ifvc"
    photo = tmp_path / "photo.png"
    face = next(iter(Decoder().decode(other.read_bytes()))).rgb
    cv2.imwrite(str(photo), np.ascontiguousarray(face[:, :, ::-1]))
    choose_file(d, "character-photo", photo)
    _wait_message(d, "drives the face of photo.png")
    wait_settled(d, [], 0, TIMEOUT)
    assert "character: photo.png" in _js(d, "return document.getElementById('stream-info').innerText")
    shown = cv2.imdecode(np.frombuffer(preview_png(d), np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
    from conformance.virtual_character import make_character
    character = tmp_path / "character.ifvc"
    character.write_bytes(make_character(face, 256))
    out = tmp_path / "animated.rgb"
    subprocess.run([sys.executable, "-m", "ref_decoder.cli", str(STREAM), "--character", str(character),
                    "-o", str(out), "--quiet"], cwd=ROOT, check=True, capture_output=True, timeout=300)
    frames = np.frombuffer(out.read_bytes(), np.uint8).reshape(-1, 3, 256, 256).transpose(0, 2, 3, 1)
    assert np.array_equal(shown, frames[0])
    d.find_element("id", "character-clear").click()
    _wait(d, lambda dd: "character:" not in _js(dd, "return document.getElementById('stream-info').innerText"),
          "the character to be cleared")


def test_encode_a_real_clip_on_the_spot(browser, shared_data: Path) -> None:
    from selenium.webdriver.common.by import By
    d = browser
    clip = shared_data / "faces" / "raw" / "fomm_demo_old_08.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} not found")
    frames = d.find_element(By.ID, "encode-frames")
    frames.clear()
    frames.send_keys("20")
    choose_file(d, "encode-video", clip)
    _wait(d, lambda dd: _js(dd, "return window.studio.info && window.studio.info.name") == "fomm_demo_old_08.ifvc",
          "the encoded clip to open", timeout=300)
    wait_settled(d, [], 0, TIMEOUT)
    assert "20 frames, 256x256" in d.find_element(By.ID, "stream-info").text


def test_play_step_and_scrub(browser) -> None:
    from selenium.webdriver.common.by import By
    d = browser
    _open(d, STREAM)
    d.find_element(By.ID, "play").click()
    wait_settled(d, [], 24, TIMEOUT)                  # played through to the last frame, then stopped
    assert d.find_element(By.ID, "play").text == "Play"
    assert _js(d, "return window.studio.frameTimes.length") >= 20
    d.find_element(By.ID, "step-back").click()
    wait_settled(d, [], 23, TIMEOUT)
    d.find_element(By.ID, "first").click()
    wait_settled(d, [], 0, TIMEOUT)
    d.find_element(By.ID, "step-forward").click()
    wait_settled(d, [], 1, TIMEOUT)
    assert d.find_element(By.ID, "frame-label").text == "frame 1 / 24"
