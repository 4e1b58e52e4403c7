"""The studio's web application (Starlette): the page, its static files, a JSON API and a
WebSocket that sends preview frames as lossless PNG.

Routes (all answers to bad input are JSON ``{"error": "one line"}`` with a 4xx status; the
page shows the line):
    GET  /                       the page
    GET  /static/NAME            the page's own files (a fixed list: nothing else is served)
    GET  /api/initial            the stream given on the command line, if any
    POST /api/open?name=N        body: an .ifvc stream -> a session and its info
    POST /api/encode?name=N&qp=Q&crop=1&frames=F   body: a video -> an encode job (its first F frames)
    GET  /api/jobs/ID            an encode job's progress (its session when done)
    POST /api/character?session=S   body: a face photo -> the session animates it
    POST /api/character/clear?session=S
    POST /api/values             {session, edits} -> every frame's edited values, warnings
    POST /api/frame              {session, frame, edits} -> the frame as PNG
    POST /api/export/stream      {session, edits} -> the edited .ifvc (as ifvc-edit writes it)
    POST /api/export/mp4         {session, edits} -> the edited video as MP4
    WS   /ws                     {id, session, frame, edits, focus} -> a JSON header, then the PNG

Uploads are read up to a size limit (413 beyond it). Requests whose Host is not the address
the server was asked to serve are refused (against DNS rebinding), and so are WebSockets from
another origin.
"""
from __future__ import annotations

import json
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from importlib import resources
from pathlib import Path
from typing import Any, Awaitable, Callable

import cv2
import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bitstream.keyframe_vvc import ToolMissingError
from bitstream.semantic_elements import SEMANTIC_ELEMENTS
from ref_decoder.cli import character_from_stream
from ref_decoder.decoder import DecodingError
from ref_decoder.edits import EditError
from ref_decoder.video_output import VideoWriter
from ref_encoder.analysis import NoFaceError
from ref_encoder.keyframe_coding import KeyframeCodingError

from .jobs import MAX_ENCODE_FRAMES, JobRunner
from .session import StudioError, StudioSession, png_bytes

MB = 1 << 20
MAX_STREAM_BYTES = 16 * MB
MAX_PHOTO_BYTES = 16 * MB
MAX_VIDEO_BYTES = 256 * MB
MAX_SESSIONS = 6
STATIC_FILES = {"index.html": "text/html; charset=utf-8", "studio.js": "text/javascript; charset=utf-8",
                "studio.css": "text/css; charset=utf-8"}
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"]
_USER_ERRORS = (StudioError, EditError, DecodingError, NoFaceError, KeyframeCodingError, ToolMissingError)


class RequestError(Exception):
    """A bad request: the status and the one line the page shows."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _static(name: str) -> bytes:
    return resources.files("studio").joinpath("static", name).read_bytes()


async def read_body(request: Request, limit: int, what: str) -> bytes:
    """The request body, refused (413) as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"the {what} is {int(declared) / MB:.1f} MB; the studio takes at most {limit // MB} MB")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"the {what} is larger than {limit // MB} MB, the studio's limit")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body:
        raise RequestError(400, f"the {what} is empty")
    return body


def _upload_name(request: Request, default: str) -> str:
    """The file name the page sent, for messages only (never used as a path)."""
    name = request.query_params.get("name", default)
    return "".join(c for c in Path(name).name if c.isprintable())[:120] or default


def _attachment(name: str) -> str:
    """A Content-Disposition for a download named after ``name`` (ASCII only: headers are latin-1)."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)
    return f'attachment; filename="{safe.lstrip(".") or "edited"}"'


class Studio:
    """The application's state: open sessions (the most recent MAX_SESSIONS) and encode jobs."""

    def __init__(self) -> None:
        self.sessions: OrderedDict[str, StudioSession] = OrderedDict()
        self.initial: str | None = None
        self._lock = threading.Lock()
        self.jobs = JobRunner(self.open_stream)

    def open_stream(self, data: bytes, name: str) -> str:
        session = StudioSession(data, name)
        return self.add(session)

    def add(self, session: StudioSession) -> str:
        sid = uuid.uuid4().hex
        with self._lock:
            self.sessions[sid] = session
            while len(self.sessions) > MAX_SESSIONS:
                dropped, _ = self.sessions.popitem(last=False)
                if dropped == self.initial:
                    self.initial = None
        return sid

    def replace(self, sid: str, session: StudioSession) -> None:
        with self._lock:
            self.sessions[sid] = session

    def get(self, sid: object) -> StudioSession:
        with self._lock:
            session = self.sessions.get(sid) if isinstance(sid, str) else None
        if session is None:
            raise RequestError(404, "this stream is no longer open in the studio; open it again")
        return session


def _edits(body: dict[str, Any]) -> list[str]:
    edits = body.get("edits", [])
    if not isinstance(edits, list) or not all(isinstance(e, str) and len(e) < 200 for e in edits):
        raise RequestError(400, "edits must be a list of --edit texts")
    return edits


def _frame_index(body: dict[str, Any]) -> int:
    frame = body.get("frame")
    if not isinstance(frame, int) or isinstance(frame, bool):
        raise RequestError(400, "frame must be an integer")
    return frame


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await read_body(request, MB, "request")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise RequestError(400, "the request is not JSON") from None
    if not isinstance(body, dict):
        raise RequestError(400, "the request must be a JSON object")
    return body


def _guarded(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Every error a user can cause becomes a one-line JSON message; anything else a one-line
    500 (the page never shows a traceback)."""
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except RequestError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        except _USER_ERRORS as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except Exception as exc:  # noqa: BLE001 - the page gets one line, never a traceback
            return JSONResponse({"error": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)
    return run


def build_app(studio: Studio | None = None, allowed_hosts: list[str] | None = None) -> Starlette:
    """The Starlette application. ``allowed_hosts``: the Host names accepted (default: loopback)."""
    studio = studio or Studio()
    hosts = allowed_hosts or LOOPBACK_HOSTS

    async def page(request: Request) -> Response:
        return Response(_static("index.html"), media_type=STATIC_FILES["index.html"],
                        headers={"Cache-Control": "no-store"})

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC_FILES:           # a fixed list: no path is ever built from the URL
            return JSONResponse({"error": "not found"}, status_code=404)
        return Response(_static(name), media_type=STATIC_FILES[name], headers={"Cache-Control": "no-store"})

    async def initial(request: Request) -> Response:
        sid = studio.initial
        if sid is None or sid not in studio.sessions:
            return JSONResponse({"session": None})
        return JSONResponse({"session": sid, "info": studio.get(sid).info()})

    async def open_stream(request: Request) -> Response:
        data = await read_body(request, MAX_STREAM_BYTES, "stream")
        name = _upload_name(request, "stream.ifvc")
        session = await run_in_threadpool(StudioSession, data, name)
        sid = studio.add(session)
        return JSONResponse({"session": sid, "info": session.info()})

    async def encode(request: Request) -> Response:
        qp_text = request.query_params.get("qp", "42")
        if not qp_text.isdigit() or not 0 <= int(qp_text) <= 63:
            raise RequestError(400, "the key-frame QP must be an integer 0..63")
        crop = request.query_params.get("crop", "1") == "1"
        frames_text = request.query_params.get("frames", str(MAX_ENCODE_FRAMES))
        if not frames_text.isdigit() or not 1 <= int(frames_text) <= MAX_ENCODE_FRAMES:
            raise RequestError(400, f"frames must be an integer 1..{MAX_ENCODE_FRAMES}")
        name = _upload_name(request, "video.mp4")
        data = await read_body(request, MAX_VIDEO_BYTES, "video")
        tmp = tempfile.TemporaryDirectory(prefix="ifvc-studio-upload-")
        suffix = Path(name).suffix.lower() if Path(name).suffix.lower() in (".mp4", ".mov", ".avi", ".mkv", ".webm") else ".mp4"
        path = Path(tmp.name) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            job = studio.jobs.start(path, name, int(qp_text), crop, tmp.cleanup, int(frames_text))
        except ValueError as exc:
            raise RequestError(409, str(exc)) from None
        return JSONResponse(job.snapshot())

    async def job_status(request: Request) -> Response:
        job = studio.jobs.get(request.path_params["job_id"])
        if job is None:
            raise RequestError(404, "no such encode")
        snap = job.snapshot()
        if snap["state"] == "done" and isinstance(snap["session"], str):
            snap["info"] = studio.get(snap["session"]).info()
        return JSONResponse(snap)

    async def character(request: Request) -> Response:
        sid = request.query_params.get("session", "")
        session = studio.get(sid)
        data = await read_body(request, MAX_PHOTO_BYTES, "photo")
        name = _upload_name(request, "photo")
        new = await run_in_threadpool(_with_character, session, data, name)
        studio.replace(sid, new)
        return JSONResponse({"session": sid, "info": new.info()})

    async def clear_character(request: Request) -> Response:
        sid = request.query_params.get("session", "")
        session = studio.get(sid)
        new = await run_in_threadpool(StudioSession, session.data, session.name)
        studio.replace(sid, new)
        return JSONResponse({"session": sid, "info": new.info()})

    async def values(request: Request) -> Response:
        body = await _json_body(request)
        session = studio.get(body.get("session"))
        replay = await run_in_threadpool(session.replay, _edits(body))
        return JSONResponse({"edited": replay.values.T.round(6).tolist(), "warnings": list(replay.warnings)})

    async def frame(request: Request) -> Response:
        body = await _json_body(request)
        session = studio.get(body.get("session"))
        rgb = await run_in_threadpool(session.frame, _frame_index(body), _edits(body))
        return Response(await run_in_threadpool(png_bytes, rgb), media_type="image/png")

    async def export_stream(request: Request) -> Response:
        body = await _json_body(request)
        session = studio.get(body.get("session"))
        data, changed, warnings = await run_in_threadpool(session.export_stream, _edits(body))
        return Response(data, media_type="application/octet-stream", headers={
            "Content-Disposition": _attachment(Path(session.name).stem + "_edited.ifvc"),
            "X-IFVC-Changed-Frames": str(changed), "X-IFVC-Warnings": json.dumps(warnings)})

    async def export_mp4(request: Request) -> Response:
        body = await _json_body(request)
        session = studio.get(body.get("session"))
        data = await run_in_threadpool(_mp4, session, _edits(body))
        return Response(data, media_type="video/mp4",
                        headers={"Content-Disposition": _attachment(Path(session.name).stem + "_edited.mp4")})

    async def socket_loop(ws: WebSocket) -> None:
        origin = ws.headers.get("origin")
        host = ws.headers.get("host", "")
        if origin is not None and origin not in (f"http://{host}", f"https://{host}"):
            await ws.close(code=1008)
            return
        await ws.accept()
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                header, png = (await _preview(studio, text) if text is not None
                               else ({"id": None, "error": "send preview requests as JSON text"}, None))
                await ws.send_text(json.dumps(header))
                if png is not None:
                    await ws.send_bytes(png)
        except WebSocketDisconnect:
            return

    routes = [
        Route("/", _guarded(page)),
        Route("/static/{name}", _guarded(static)),
        Route("/api/initial", _guarded(initial)),
        Route("/api/open", _guarded(open_stream), methods=["POST"]),
        Route("/api/encode", _guarded(encode), methods=["POST"]),
        Route("/api/jobs/{job_id}", _guarded(job_status)),
        Route("/api/character", _guarded(character), methods=["POST"]),
        Route("/api/character/clear", _guarded(clear_character), methods=["POST"]),
        Route("/api/values", _guarded(values), methods=["POST"]),
        Route("/api/frame", _guarded(frame), methods=["POST"]),
        Route("/api/export/stream", _guarded(export_stream), methods=["POST"]),
        Route("/api/export/mp4", _guarded(export_mp4), methods=["POST"]),
        WebSocketRoute("/ws", socket_loop),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)])
    app.state.studio = studio
    return app


async def _preview(studio: Studio, text: str) -> tuple[dict[str, Any], bytes | None]:
    """One preview request of the WebSocket: the header (frame, edited curve of the focused
    element, warnings, server time) and the PNG, or an error header and no picture."""
    t0 = time.perf_counter()
    request_id: object = None
    try:
        try:
            body = json.loads(text)
        except ValueError:
            raise RequestError(400, "the request is not JSON") from None
        if not isinstance(body, dict):
            raise RequestError(400, "the request must be a JSON object")
        request_id = body.get("id")
        session = studio.get(body.get("session"))
        idx, edits = _frame_index(body), _edits(body)
        rgb, replay = await run_in_threadpool(_draw, session, idx, edits)
        png = await run_in_threadpool(png_bytes, rgb)
        focus = body.get("focus")
        names = [e.name for e in SEMANTIC_ELEMENTS]
        curve = replay.values[:, names.index(focus)].round(6).tolist() if focus in names else None
        return ({"id": request_id, "frame": idx, "warnings": list(replay.warnings), "curve": curve,
                 "focus": focus, "server_ms": round(1000 * (time.perf_counter() - t0), 2)}, png)
    except RequestError as exc:
        return {"id": request_id, "error": str(exc)}, None
    except _USER_ERRORS as exc:
        return {"id": request_id, "error": str(exc)}, None
    except Exception as exc:  # noqa: BLE001 - one line for the page, never a traceback
        return {"id": request_id, "error": f"internal error: {type(exc).__name__}: {exc}"}, None


def _draw(session: StudioSession, idx: int, edits: list[str]) -> tuple[np.ndarray, Any]:
    replay = session.replay(edits)
    return session.frame(idx, edits), replay


def _with_character(session: StudioSession, photo: bytes, name: str) -> StudioSession:
    """The session's stream animating the face of a photo (as ifvc-character + --character)."""
    from conformance.virtual_character import make_character
    if session.sh.sh_pic_width != session.sh.sh_pic_height:
        raise StudioError("a character needs a square stream (the face crop is square)")
    bgr = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise StudioError(f"{name} cannot be read as a picture (PNG, JPEG, ...)")
    try:
        stream = make_character(np.ascontiguousarray(bgr[:, :, ::-1]), session.sh.sh_pic_width)
    except NoFaceError:
        raise StudioError(f"no face found in {name}: the character needs a photo with a face") from None
    except ValueError as exc:
        raise StudioError(f"{name} cannot be made a character: {exc}") from None
    character = character_from_stream(stream, name)
    return StudioSession(session.data, session.name, character=character, character_name=name)


def _mp4(session: StudioSession, edits: list[str]) -> bytes:
    """The edited (and animated) video as ifvc-decode -o out.mp4 writes it."""
    with tempfile.TemporaryDirectory(prefix="ifvc-studio-mp4-") as tmp:
        path = Path(tmp) / "out.mp4"
        sh = session.sh
        writer = VideoWriter(path, sh.sh_pic_width, sh.sh_pic_height, sh.frame_rate)
        try:
            for rgb in session.frames(edits):
                writer.write(rgb)
            writer.close()
        except BaseException:
            writer.abort()
            raise
        return path.read_bytes()
