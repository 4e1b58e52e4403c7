"""The studio's web application without a browser (Starlette's test client): only its own
files are served, uploads are limited, a foreign Host or Origin is refused, every bad input is a
one-line JSON error, the WebSocket sends the decoder's frames, and the command line refuses a
public address unless asked."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from starlette.testclient import TestClient

import studio.app as studio_app
from ref_decoder.decoder import Decoder
from ref_decoder.edits import EditApplier, parse_edit
from studio.app import build_app

ROOT = Path(__file__).resolve().parents[1]
STREAM = ROOT / "conformance" / "streams" / "face_synthetic_motion_eg.ifvc"
BASE = "http://127.0.0.1"


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(build_app(), base_url=BASE)


@pytest.fixture(scope="module")
def session_id(client: TestClient) -> str:
    r = client.post("/api/open?name=face.ifvc", content=STREAM.read_bytes())
    assert r.status_code == 200, r.text
    info = r.json()["info"]
    assert (info["frames"], info["width"], info["key_frames"]) == (25, 256, [0])
    assert len(info["original"]) == 16 and all(len(c) == 25 for c in info["original"])
    return r.json()["session"]


def _rgb(png: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]


def test_page_and_its_files_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'src="/static/studio.js"' in page.text
    for name, kind in (("studio.js", "javascript"), ("studio.css", "css")):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"]


@pytest.mark.parametrize("path", ["/static/../app.py", "/static/%2e%2e%2fapp.py", "/static/..%2fsession.py",
                                  "/static/app.py", "/static/%2fetc%2fpasswd", "/static/index.html%00",
                                  "/../../etc/passwd", "/studio/app.py"])
def test_nothing_but_its_own_files(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert b"import" not in r.content and b"root:" not in r.content


def test_foreign_host_is_refused() -> None:
    c = TestClient(build_app(), base_url="http://attacker.example")
    assert c.get("/").status_code == 400


def test_websocket_from_another_origin_is_refused(client: TestClient) -> None:
    from starlette.websockets import WebSocketDisconnect
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("ws://127.0.0.1/ws", headers={"origin": "http://attacker.example"}) as ws:
            ws.receive_text()


def test_upload_limit(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(studio_app, "MAX_STREAM_BYTES", 1000)
    r = client.post("/api/open?name=big.ifvc", content=STREAM.read_bytes())
    assert r.status_code == 413 and "at most" in r.json()["error"]


@pytest.mark.parametrize("body, message", [
    (b"", "the stream is empty"),
    (STREAM.read_bytes()[:300], "is not a valid IFVC stream"),
    (b"\x00" * 64, "is not a valid IFVC stream"),
])
def test_bad_streams_get_one_line(client: TestClient, body: bytes, message: str) -> None:
    r = client.post("/api/open?name=bad.ifvc", content=body)
    assert r.status_code == 400
    error = r.json()["error"]
    assert message in error and "\n" not in error and "Traceback" not in error


def test_frame_is_the_decoders(client: TestClient, session_id: str) -> None:
    edits = ["head_yaw:offset=20@5-15"]
    ref = [f.rgb for f in Decoder(edits=EditApplier([parse_edit(e) for e in edits])).decode(STREAM.read_bytes())]
    r = client.post("/api/frame", json={"session": session_id, "frame": 10, "edits": edits})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert np.array_equal(_rgb(r.content), ref[10])


def test_websocket_preview(client: TestClient, session_id: str) -> None:
    edits = ["head_yaw:offset=20@5-15"]
    with client.websocket_connect("ws://127.0.0.1/ws", headers={"origin": BASE}) as ws:
        ws.send_text(json.dumps({"id": 7, "session": session_id, "frame": 10, "edits": edits, "focus": "head_yaw"}))
        header = json.loads(ws.receive_text())
        png = ws.receive_bytes()
        assert header["id"] == 7 and header["frame"] == 10 and len(header["curve"]) == 25
        original = client.post("/api/values", json={"session": session_id, "edits": []}).json()["edited"][0]
        assert [round(a - b, 6) for a, b in zip(header["curve"][5:16], original[5:16])] == [20.0] * 11
        assert _rgb(png).shape == (256, 256, 3)
        # an edit outside the stream: an error header, no picture, and the socket stays usable
        ws.send_text(json.dumps({"id": 8, "session": session_id, "frame": 3, "edits": ["head_yaw:set=1@30-40"]}))
        bad = json.loads(ws.receive_text())
        assert bad["id"] == 8 and "covers no frame" in bad["error"]
        ws.send_text("not json")
        assert "not JSON" in json.loads(ws.receive_text())["error"]
        ws.send_text(json.dumps({"id": 9, "session": "nope", "frame": 0, "edits": []}))
        assert "no longer open" in json.loads(ws.receive_text())["error"]
        ws.send_bytes(b"\x00\x01")
        assert "as JSON text" in json.loads(ws.receive_text())["error"]
        ws.send_text(json.dumps({"id": 10, "session": session_id, "frame": 0, "edits": []}))
        assert json.loads(ws.receive_text())["id"] == 10 and ws.receive_bytes()


@pytest.mark.parametrize("body, message", [
    ({"edits": ["head_yaw:offset=20@40-50"]}, "covers no frame"),
    ({"edits": ["yaw:offset=20"]}, "unknown semantic element"),
    ({"edits": "head_yaw:offset=20"}, "edits must be a list"),
    ({"edits": [], "frame": "3"}, "frame must be an integer"),
    ({"edits": [], "frame": 99}, "frame 99 is not in the stream"),
])
def test_bad_requests_get_one_line(client: TestClient, session_id: str, body: dict, message: str) -> None:
    url = "/api/frame" if "frame" in body else "/api/export/stream"
    r = client.post(url, json={"session": session_id, **body})
    assert r.status_code == 400 and message in r.json()["error"]


def test_exports(client: TestClient, session_id: str, tmp_path: Path) -> None:
    edits = ["head_yaw:offset=20@5-15"]
    r = client.post("/api/export/stream", json={"session": session_id, "edits": edits})
    assert r.status_code == 200 and r.headers["x-ifvc-changed-frames"] == "11"
    assert 'filename="face_edited.ifvc"' in r.headers["content-disposition"]
    (tmp_path / "edited.ifvc").write_bytes(r.content)
    ref = tmp_path / "ref.ifvc"
    subprocess.run([sys.executable, "-m", "tools.bitstream_editor", str(STREAM), "-o", str(ref),
                    "--edit", edits[0]], cwd=ROOT, check=True, capture_output=True)
    assert r.content == ref.read_bytes()
    mp4 = client.post("/api/export/mp4", json={"session": session_id, "edits": edits})
    assert mp4.status_code == 200 and mp4.headers["content-type"] == "video/mp4"
    (tmp_path / "out.mp4").write_bytes(mp4.content)
    cap = cv2.VideoCapture(str(tmp_path / "out.mp4"))
    count = 0
    while cap.read()[0]:
        count += 1
    assert count == 25


def test_photo_without_a_face(client: TestClient, session_id: str) -> None:
    grey = cv2.imencode(".png", np.full((256, 256, 3), 128, np.uint8))[1].tobytes()
    r = client.post(f"/api/character?session={session_id}&name=wall.png", content=grey)
    assert r.status_code == 400 and "no face found in wall.png" in r.json()["error"]
    r = client.post(f"/api/character?session={session_id}&name=notes.txt", content=b"hello")
    assert r.status_code == 400 and "cannot be read as a picture" in r.json()["error"]


def test_encode_job_refuses_a_non_video(client: TestClient) -> None:
    r = client.post("/api/encode?name=x.mp4&qp=42", content=b"not a video at all")
    assert r.status_code == 200
    job = r.json()["job"]
    import time
    for _ in range(600):                 # a bounded wait on the job's own state, not a timing check
        snap = client.get(f"/api/jobs/{job}").json()
        if snap["state"] != "running":
            break
        time.sleep(0.1)
    assert snap["state"] == "failed" and snap["message"].startswith("cannot encode x.mp4")
    assert client.post("/api/encode?qp=99", content=b"x").status_code == 400


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "studio.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_cli_refuses_a_public_address_without_the_flag() -> None:
    proc = _cli("--host", "0.0.0.0")
    assert proc.returncode == 2 and "--allow-remote" in proc.stderr and proc.stderr.count("\n") == 1


def test_cli_bad_stream_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ifvc"
    bad.write_bytes(STREAM.read_bytes()[:50])
    proc = _cli(str(bad), "--port", "0")
    assert proc.returncode == 1 and "bad.ifvc is not a valid IFVC stream" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    proc = _cli(str(tmp_path / "missing.ifvc"))
    assert proc.returncode == 1 and "not found" in proc.stderr


def test_download_names_are_safe_headers(client: TestClient) -> None:
    r = client.post("/api/open?name=" + "лицо \"x\".ifvc", content=STREAM.read_bytes())
    assert r.status_code == 200 and r.json()["info"]["name"] == 'лицо "x".ifvc'
    out = client.post("/api/export/stream", json={"session": r.json()["session"], "edits": []})
    assert out.status_code == 200
    assert out.headers["content-disposition"] == 'attachment; filename="______x__edited.ifvc"'


def test_cli_serves_the_stream_it_is_given() -> None:
    import urllib.request

    from studio.headless import studio_server
    with studio_server(STREAM, cwd=ROOT) as url:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "api/initial", timeout=60) as resp:
            body = json.loads(resp.read())
        assert body["info"]["name"] == STREAM.name and body["info"]["frames"] == 25
