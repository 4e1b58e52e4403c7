"""The decoder's output does not depend on its CPU thread count (ifvc_synthesis/cpu_threads.py,
Annex F.6): the learned generator's network in its thread-invariant layout, the campaign
worker's set-up (1 or 2 threads), `ifvc-decode --threads`, and no generator changing the
caller's thread count."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from bitstream.picture_format import frame_to_rgb_planar
from conformance.campaign.executors import set_torch_threads
from ifvc_synthesis import cpu_threads
from ifvc_synthesis.generators.learned import LearnedGenerator, shipped_weights_available
from ifvc_synthesis.generators.refine_net import IN_CHANNELS, RefineNet
from ref_decoder.cli import main as decode_main
from ref_decoder.decoder import Decoder

SUITE = Path(__file__).resolve().parents[1] / "conformance" / "streams"
REFINE_STREAM = "face_synthetic_motion_refine_cabac"


@pytest.fixture
def restore_threads():  # type: ignore[no-untyped-def]
    torch_before, cv2_before = torch.get_num_threads(), cv2.getNumThreads()
    yield
    torch.set_num_threads(torch_before)
    cv2.setNumThreads(cv2_before)
    cpu_threads._requested_threads = None


def _trained_like(seed: int = 3) -> RefineNet:
    """The shipped network's shape with non-zero weights in every layer (the shipped weights
    need not be present for this test)."""
    g = torch.Generator().manual_seed(seed)
    model = RefineNet()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    return model.eval()


def test_network_output_is_the_same_on_1_2_and_3_threads(restore_threads) -> None:  # type: ignore[no-untyped-def]
    """256x256, where PyTorch's default layout gives other sums on 2 threads than on 1 in the
    1x1 convolutions (this test fails with it): the float output itself is identical."""
    gen = LearnedGenerator(model=_trained_like())
    x = np.random.default_rng(0).uniform(-1, 1, (IN_CHANNELS, 256, 256)).astype(np.float32)
    outputs = []
    for threads in (1, 2, 3):
        torch.set_num_threads(threads)
        outputs.append(gen.refine(x).numpy().tobytes())
    assert outputs[0] == outputs[1] == outputs[2]


def test_making_a_learned_generator_keeps_the_callers_thread_count(restore_threads) -> None:  # type: ignore[no-untyped-def]
    """A campaign worker sets 1 thread; making the generator must not change it (it set 2)."""
    torch.set_num_threads(1)
    LearnedGenerator(model=RefineNet())
    assert torch.get_num_threads() == 1
    LearnedGenerator(model=RefineNet(), num_threads=2)       # asked for: then it is set
    assert torch.get_num_threads() == 2


def test_set_synthesis_threads_sets_opencv_and_torch(restore_threads) -> None:  # type: ignore[no-untyped-def]
    cpu_threads.set_synthesis_threads(1)
    assert (cv2.getNumThreads(), torch.get_num_threads()) == (1, 1)
    cpu_threads.set_synthesis_threads(2)
    assert (cv2.getNumThreads(), torch.get_num_threads()) == (2, 2)
    torch.set_num_threads(1)
    cpu_threads.apply_requested_threads(torch)               # what learned.py does on import
    assert torch.get_num_threads() == 2
    with pytest.raises(ValueError, match="at least 1"):
        cpu_threads.set_synthesis_threads(0)


def test_passive_wait_keeps_a_users_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    cpu_threads.prefer_passive_openmp_wait()
    import os
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    assert cpu_threads.prefer_passive_openmp_wait() is False       # torch is loaded here already
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"              # for the processes started later


def _decoded_md5s(data: bytes) -> list[str]:
    return [hashlib.md5(frame_to_rgb_planar(f.rgb)).hexdigest() for f in Decoder().decode(data)]


def test_campaign_worker_setup_does_not_change_the_learned_output(restore_threads) -> None:  # type: ignore[no-untyped-def]
    """The campaign's worker set-up (executors.set_torch_threads) on 1 and 2 threads decodes
    the suite's ifvc-refine-1 stream to the same frames, the ones its description lists."""
    if not shipped_weights_available():
        pytest.skip("the learned generator's weights are not shipped")
    pytest.importorskip("imageio_ffmpeg")                   # its VVC key frame
    data = (SUITE / f"{REFINE_STREAM}.ifvc").read_bytes()
    expected = [md5 for md5, n in json.loads((SUITE / f"{REFINE_STREAM}.json").read_text())
                ["output_frame_md5_runs"] for _ in range(n)]
    for threads in (1, 2):
        set_torch_threads(threads)
        assert _decoded_md5s(data) == expected, f"{threads} threads"
        assert torch.get_num_threads() == threads and cv2.getNumThreads() == threads


def test_decoder_cli_threads(tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_threads) -> None:  # type: ignore[no-untyped-def]
    """ifvc-decode --threads 1 and 2 write the same pictures (mesh generator: OpenCV and numpy
    on several threads); --threads 0 is a usage error with one line, no output."""
    stream = SUITE / "cabac_geometric3_mesh.ifvc"
    digests = []
    for threads in (1, 2):
        out = tmp_path / f"t{threads}.rgb"
        assert decode_main([str(stream), "-o", str(out), "--threads", str(threads), "--quiet"]) == 0
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        decode_main([str(stream), "-o", str(tmp_path / "bad.rgb"), "--threads", "0"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) >= 1 and "--threads" in err[-1] and not (tmp_path / "bad.rgb").exists()


def test_bench_decoder_decodes_as_the_campaign_on_1_and_2_threads(capsys: pytest.CaptureFixture[str]) -> None:
    """tools/bench_decoder.py: spawned workers set up as the campaign's, on 1 and 2 threads,
    decode a suite stream to the same bytes (its exit status is 1 when they differ)."""
    from tools import bench_decoder
    stream = SUITE / "cabac_explicit_init.ifvc"
    assert bench_decoder.main([str(stream), "--threads", "1", "2"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("cabac_explicit_init.ifvc |")]
    assert len(rows) == 2 and {row.split(" | ")[2] for row in rows} == {"1", "2"}
    assert "cabac_explicit_init.ifvc: identical output in every run" in out


def test_bench_decoder_can_decode_with_another_generator(capsys: pytest.CaptureFixture[str]) -> None:
    """--generator NAME: the stream synthesised with that registered generator (the generator
    column names it, the output differs from the stream's own generator's, identical on 1 and 2
    threads); an unknown name is a one-line error and exit status 2, before any decode."""
    from tools import bench_decoder
    stream = SUITE / "cabac_explicit_init.ifvc"
    sha: dict[str, set[str]] = {}
    for generator in (None, "ifvc-geometric-2"):
        args = [str(stream), "--threads", "1", "2"] + ([] if generator is None else ["--generator", generator])
        assert bench_decoder.main(args) == 0
        rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines()
                if line.startswith("cabac_explicit_init.ifvc |")]
        assert len(rows) == 2
        names = {row[1] for row in rows}
        assert (names == {"ifvc-geometric-2"}) == (generator is not None)
        sha[str(generator)] = {row[-1] for row in rows}
    assert len(sha["None"]) == len(sha["ifvc-geometric-2"]) == 1 and sha["None"] != sha["ifvc-geometric-2"]
    assert bench_decoder.main([str(stream), "--generator", "no-such-gen"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "unknown generator 'no-such-gen'" in err[0] and "stream |" not in captured.out
