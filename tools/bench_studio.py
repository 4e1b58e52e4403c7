"""Benchmark of the studio's preview (target, DESIGN.md 5: at least 15 frames/s at 256x256 on
2 cores with the geometric generator, while dragging a slider).

    python -m tools.bench_studio [--stream S.ifvc] [--steps 120] [--seconds 4] [--no-browser]

1. Server side: a drag is a run of edit lists whose value changes at every step (head_yaw
   offset 0..30 degrees over frames 0..N-1, the playhead fixed); each step is what one preview
   request costs on the server: the edits replayed over every frame, the frame synthesised,
   the PNG encoded. Also playback (the frame changes, the edits stay).
2. End to end in headless Chromium (skipped without chromium): the time from page load to the
   first frame shown (stream given on the command line), and the preview frames/s while the
   yaw slider receives input events at 60 Hz for --seconds (as a mouse drag sends them), counted
   from the frames the page shows; with one and with two requests in flight, alternately
   (--repeats times each), so that a busy machine affects both alike.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STREAM = ROOT / "conformance" / "streams" / "face_synthetic_motion_eg.ifvc"


def _summary(label: str, times_s: list[float]) -> str:
    ms = sorted(1000 * t for t in times_s)
    return (f"{label}: {len(ms) / sum(times_s):.1f} frames/s over {len(ms)} requests "
            f"(median {statistics.median(ms):.1f} ms, p90 {ms[int(0.9 * (len(ms) - 1))]:.1f} ms)")


def server_side(stream: Path, steps: int) -> None:
    from studio.session import StudioSession, png_bytes
    data = stream.read_bytes()
    t0 = time.perf_counter()
    session = StudioSession(data, stream.name)
    print(f"open {stream.name} ({session.num_frames} frames, {session.sh.sh_pic_width}x"
          f"{session.sh.sh_pic_height}, {session.generator.name}): {1000 * (time.perf_counter() - t0):.0f} ms")
    n, mid = session.num_frames, session.num_frames // 2
    session.frame(mid, [])                    # warm up (imports, the generator's key-frame state)
    drag = []
    for k in range(steps):
        edits = [f"head_yaw:offset={30 * k / steps:.4g}@0-{n - 1}"]
        t = time.perf_counter()
        png_bytes(session.frame(mid, edits))
        drag.append(time.perf_counter() - t)
    print(_summary("drag (edit + replay + synthesis + PNG), server", drag))
    play = []
    edits = [f"head_yaw:offset=20@0-{n - 1}"]
    for k in range(steps):
        t = time.perf_counter()
        png_bytes(session.frame(k % n, edits))
        play.append(time.perf_counter() - t)
    print(_summary("playback with an edit, server", play))


def browser(stream: Path, seconds: float, repeats: int) -> None:
    from studio.headless import chromium, find_chromium, studio_server, wait_settled
    if find_chromium() is None:
        print("browser: skipped (no chromium / chromedriver)")
        return
    with studio_server(stream, cwd=ROOT) as url, chromium() as d:
        d.set_script_timeout(seconds + 60)
        loads = []
        for _ in range(3):
            d.get(url)
            wait_settled(d, [], 0, 120)
            loads.append(d.execute_script("return window.studio.firstFrameMs"))
        print(f"page load to first frame (navigation start to the first preview shown): "
              f"{', '.join(f'{t:.0f}' for t in loads)} ms (3 loads)")
        for rep in range(repeats):
            for depth in (1, 2):
                d.get(f"{url}?depth={depth}")
                wait_settled(d, [], 0, 120)
                r = _drag(d, seconds)
                fps = r["shown"] / (r["elapsed"] / 1000)
                print(f"browser drag, {depth} request(s) in flight (run {rep + 1}): {fps:.1f} frames/s shown "
                      f"({r['shown']} frames for {r['inputs']} input events in {r['elapsed'] / 1000:.1f} s; "
                      f"server {r['server']:.1f} ms per frame)")


def _drag(d, seconds: float) -> dict:  # type: ignore[no-untyped-def]
    """The yaw slider (offset) receives an input event every 1/60 s for `seconds`, as a mouse
    drag sends them; counts the frames the page shows meanwhile."""
    return d.execute_async_script("""
        const done = arguments[arguments.length - 1], seconds = arguments[0];
        const s = window.studio;
        document.querySelector('input[name=op][value=offset]').click();
        const el = document.getElementById('slider-head_yaw');
        let shown = 0;
        const watch = new MutationObserver(() => { shown++; });
        watch.observe(document.getElementById('preview'), {attributes: true, attributeFilter: ['src']});
        const t0 = performance.now(); let k = 0;
        const timer = setInterval(() => {
          k++;
          el.value = String(30 * Math.sin(k / 20));
          el.dispatchEvent(new Event('input'));
          if (performance.now() - t0 > seconds * 1000) {
            clearInterval(timer); watch.disconnect();
            const ms = s.serverMs.slice();
            done({shown, inputs: k, elapsed: performance.now() - t0,
                  server: ms.reduce((a, b) => a + b, 0) / ms.length});
          }
        }, 1000 / 60);
    """, seconds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stream", type=Path, default=DEFAULT_STREAM)
    ap.add_argument("--steps", type=int, default=120)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--repeats", type=int, default=3, help="browser drags per pipelining depth")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    server_side(args.stream, args.steps)
    if not args.no_browser:
        browser(args.stream, args.seconds, args.repeats)


if __name__ == "__main__":
    main()
