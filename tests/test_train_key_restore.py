"""tools/train_key_restore.py's bad input: one line, non-zero exit, nothing coded or written;
its crop sampler draws in a fixed order (the shipped run's batches depend on it); its texture
loss compares patch statistics, not samples in place."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tools import train_key_restore  # noqa: E402


@pytest.mark.parametrize("args, message", [
    (["train", "--qps", "70"], "key-frame QP 70 out of range"),
    (["train", "--sequences", "NOPE"], "is missing: prepare the sequences"),
    (["train", "--init", "NONE.pt"], "--init .*NONE.pt: not found"),
    (["train", "--shuffle", "2", "--crop", "63"], "--crop 63: not a multiple of --shuffle 2"),
    (["train", "--texture-weight", "-0.1"], "--texture-weight -0.1: a loss weight must not be negative"),
    (["export", "--checkpoint", "NONE.pt", "--out", "OUT/w.safetensors"], "NONE.pt not found"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    args = [str(tmp_path / a) if a in ("NOPE", "NONE.pt", "OUT/w.safetensors") else a for a in args]
    if args[0] == "train":
        args += ["--out", str(tmp_path / "run")]
        if "--sequences" not in args:                  # checked after the QPs and --init
            args += ["--sequences", str(tmp_path / "no_sequences")]
    with pytest.raises(SystemExit, match=message):
        train_key_restore.main(args)
    assert not (tmp_path / "run").exists() and not (tmp_path / "OUT").exists()


def test_random_crops_are_seeded_windows_of_the_same_pictures() -> None:
    rng = np.random.default_rng(5)
    decoded = rng.integers(0, 256, (3, 20, 24, 3), dtype=np.uint8)
    sources = rng.integers(0, 256, (3, 20, 24, 3), dtype=np.uint8)
    a1 = train_key_restore.random_crops(np.random.default_rng(0), decoded, sources, 6, 8)
    a2 = train_key_restore.random_crops(np.random.default_rng(0), decoded, sources, 6, 8)
    for x, y in zip(a1, a2):
        assert np.array_equal(x, y)
    idx, crops_d, crops_s = a1
    assert crops_d.shape == crops_s.shape == (6, 8, 8, 3)
    for k, i in enumerate(idx):                       # each crop is a window (maybe flipped) of picture i
        found = False
        for flip in (False, True):
            d = crops_d[k][:, ::-1] if flip else crops_d[k]
            s = crops_s[k][:, ::-1] if flip else crops_s[k]
            for y in range(20 - 8 + 1):
                for x in range(24 - 8 + 1):
                    if np.array_equal(decoded[i, y:y + 8, x:x + 8], d) and np.array_equal(sources[i, y:y + 8, x:x + 8], s):
                        found = True
        assert found


def taps(seed: int) -> list[torch.Tensor]:
    """Random non-negative features shaped like the three VGG16 taps of a 32 x 32 crop."""
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(2, c, 32 >> k, 32 >> k, generator=g) for k, c in enumerate((4, 6, 8))]


def shuffled_within_patches(f: torch.Tensor, p: int, seed: int) -> torch.Tensor:
    """f with its positions permuted inside every p x p patch (the same permutation in each)."""
    n, c, h, w = f.shape
    perm = torch.randperm(p * p, generator=torch.Generator().manual_seed(seed))
    blocks = f.reshape(n, c, h // p, p, w // p, p).permute(0, 1, 2, 4, 3, 5).reshape(n, c, h // p, w // p, p * p)
    blocks = blocks[..., perm].reshape(n, c, h // p, w // p, p, p).permute(0, 1, 2, 4, 3, 5)
    return blocks.reshape(n, c, h, w)


def test_the_texture_distance_sees_patch_statistics_not_places() -> None:
    """Zero for the same features and for features moved about inside each patch (16, 8 and 4
    samples a side at the three taps); not zero when they move between patches or change."""
    fx = taps(0)
    assert train_key_restore.texture_distance(fx, fx).item() == 0.0
    moved = [shuffled_within_patches(f, train_key_restore.TEXTURE_PATCH >> k, 1) for k, f in enumerate(fx)]
    assert not torch.equal(moved[0], fx[0])
    assert train_key_restore.texture_distance(fx, moved).item() < 1e-9
    across = [torch.roll(f, shifts=f.shape[3] // 2, dims=3) for f in fx]      # half a tap to the side
    assert train_key_restore.texture_distance(fx, across).item() > 1e-4
    assert train_key_restore.texture_distance(fx, taps(2)).item() > 1e-4


def test_the_phase_penalty_is_the_2x2_pattern_in_levels_squared() -> None:
    checker = torch.zeros(1, 3, 16, 16)
    checker[..., ::2, ::2] = checker[..., 1::2, 1::2] = 1 / 255
    checker[..., ::2, 1::2] = checker[..., 1::2, ::2] = -1 / 255
    assert train_key_restore.phase_pattern(checker).item() == pytest.approx(1.0)       # +-1 level
    assert train_key_restore.phase_pattern(3 * checker).item() == pytest.approx(9.0)
    smooth = torch.linspace(0, 0.2, 16).view(1, 1, 1, 16).expand(1, 3, 16, 16)         # a ramp along x
    assert train_key_restore.phase_pattern(smooth).item() > 0        # even and odd columns differ
    assert train_key_restore.phase_pattern(torch.full((1, 3, 16, 16), 0.3)).item() == 0.0


def test_a_shipped_weights_file_is_a_start() -> None:
    """--init takes ifvc-geometric-10's safetensors file: the network starts as the shipped one."""
    from ifvc_synthesis.generators.geometric_10 import WEIGHTS
    from ifvc_synthesis.generators.key_restore import KeyRestoreConfig, build_network
    net = build_network(KeyRestoreConfig(32, 4, 2))
    state = train_key_restore.initial_weights(WEIGHTS, net.state_dict())
    from safetensors.torch import load_file
    shipped = load_file(str(WEIGHTS))
    assert set(state) == set(shipped) and all(torch.equal(state[k], shipped[k]) for k in shipped)
    with pytest.raises(SystemExit, match="do not fit"):          # another layout is refused
        train_key_restore.initial_weights(WEIGHTS, build_network(KeyRestoreConfig(32, 4, 1)).state_dict())


def test_unknown_filters_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        train_key_restore.main(["train", "--filters", "none", "--out", str(tmp_path / "run")])
    assert stop.value.code == 2 and "--filters: invalid choice: 'none'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_pictures_are_cached_per_filters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache keeps VVenC's own filters under the names of before and the texture filters
    apart; each is coded with its own -vvenc-params."""
    monkeypatch.setattr(train_key_restore, "CACHE", tmp_path)
    rng = np.random.default_rng(5)        # a noisy picture for which VVenC (medium) sends an ALF
    yy, xx = np.mgrid[0:128, 0:128]
    smooth = np.stack([xx * 3 % 256, yy * 3 % 256, 200 - (xx + yy) % 200], -1).astype(np.float64)
    picture = np.clip(smooth + rng.normal(0, 12, (128, 128, 3)), 0, 255).astype(np.uint8)
    vvenc, texture = train_key_restore.coded(picture, 32), train_key_restore.coded(picture, 32, "texture")
    assert not np.array_equal(vvenc[0], texture[0])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 4 and sum(n.endswith("_qp32_texture.rgb") for n in names) == 1
    assert sum(n.endswith("_qp32.rgb") for n in names) == 1
    from ref_encoder.keyframe_coding import encode_vvc_intra
    for (decoded, bits), filters in ((vvenc, "vvenc"), (texture, "texture")):
        direct = encode_vvc_intra(picture, 32, "medium", filters)
        assert np.array_equal(decoded, direct.decoded) and bits == 8 * len(direct.payload)
    again = train_key_restore.coded(picture, 32, "texture")      # read back from the cache
    assert np.array_equal(again[0], texture[0]) and again[1] == texture[1]
