"""The README's screenshot of the studio (docs/studio.png), made in headless Chromium:

    python -m tools.studio_screenshot [--stream S.ifvc] [-o docs/studio.png]

A stream opened from the command line, frames 6-18 selected, head_yaw offset by -20 degrees
there (dragged in the page like a user would), playhead on frame 12.
"""
from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stream", type=Path, default=ROOT / "conformance" / "streams" / "face_synthetic_motion_eg.ifvc")
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "studio.png")
    args = ap.parse_args()
    from studio.headless import chromium, select_offset_range, studio_server, wait_settled
    with studio_server(args.stream.resolve(), cwd=ROOT) as url, chromium() as d:
        d.set_window_size(1400, 1130)
        d.get(url)
        wait_settled(d, [], 0, 120)
        select_offset_range(d, 6, 18, 12)
        d.execute_script("""
            const el = document.getElementById('slider-head_yaw');
            el.value = "-20"; el.dispatchEvent(new Event('input')); el.dispatchEvent(new Event('change'));""")
        try:
            wait_settled(d, ["head_yaw:offset=-20@6-18"], 12, 20)
        except Exception:
            print(d.execute_script("const p=document.getElementById('preview'); return [window.studio.edits, p.dataset.edits, p.dataset.frame, p.dataset.settled, document.getElementById('messages').innerText]"))
            raise
        d.save_screenshot(str(args.output))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
