"""tools/train_key_restore.py's bad input: one line, non-zero exit, nothing coded or written;
its crop sampler draws in a fixed order (the shipped run's batches depend on it)."""
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
