"""VVenC (libvvenc through ffmpeg) and ffmpeg's vvc decoder on one 256 x 256 key picture of 3 test clips: the
default thread count against -threads 1, alternating, R rounds (default 5); the bitstream and the decoded picture
must be the same for both. Run from the repository root: python docs/results/encoder_startup_2026-12-07/vvenc_threads.py 5"""
import subprocess, time, hashlib, sys, statistics
import numpy as np
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[3]))
from bitstream.raw_video import read_rgb444
from bitstream.picture_format import rgb_to_yuv420
from bitstream.keyframe_vvc import find_ffmpeg
R = int(sys.argv[1]) if len(sys.argv) > 1 else 5
ff = find_ffmpeg()
clips = ["pcavs_Pose_Source_620900105", "sadtalker_RD_Radio34_000", "liveportrait_driving_d13"]
def enc(planes10, preset, qp, extra):
    cmd = [ff, "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-s", "256x256", "-i", "pipe:0", "-frames:v", "1"] + extra + [
           "-c:v", "libvvenc", "-preset", preset, "-qp", str(qp), "-qpa", "0", "-g", "1", "-f", "vvc", "pipe:1"]
    t = time.perf_counter(); p = subprocess.run(cmd, input=planes10, capture_output=True, check=True); return time.perf_counter() - t, p.stdout
def dec(payload, extra):
    cmd = [ff, "-hide_banner", "-loglevel", "error"] + extra + ["-f", "vvc", "-i", "pipe:0", "-frames:v", "1", "-f", "rawvideo", "pipe:1"]
    t = time.perf_counter(); p = subprocess.run(cmd, input=payload, capture_output=True, check=True); return time.perf_counter() - t, p.stdout
times = {}
for clip in clips:
    f = read_rgb444(f"work/sequences/{clip}_256x256_25_8bit_444.rgb", 256, 256, 1)[0]
    planes10 = b"".join((p.astype("<u2") << 2).tobytes() for p in rgb_to_yuv420(f))
    for preset, qp in (("medium", 32), ("fast", 32), ("medium", 22)):
        outs = {}
        for r in range(R):
            for name, extra in (("default", []), ("threads1", ["-threads", "1"])):
                dt, data = enc(planes10, preset, qp, extra)
                times.setdefault(("enc", preset, qp, name), []).append(dt); outs.setdefault(name, set()).add(hashlib.sha256(data).hexdigest())
                dt2, pic = dec(data, extra)
                times.setdefault(("dec", preset, qp, name), []).append(dt2); outs.setdefault("dec" + name, set()).add(hashlib.sha256(pic).hexdigest())
        assert len(outs["default"] | outs["threads1"]) == 1 and len(outs["decdefault"] | outs["decthreads1"]) == 1, (clip, preset, qp)
        print(clip, preset, qp, "same bitstream and decoded picture for both thread settings in", R, "rounds", flush=True)
for k, v in sorted(times.items()):
    print(k, f"median {statistics.median(v)*1000:.0f} ms  min {min(v)*1000:.0f}  max {max(v)*1000:.0f}  n {len(v)}")
