"""Helpers that stand in one place and are used across packages: file digests, the ffmpeg
search, adopting a file written elsewhere into an all-or-nothing output transaction."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitstream.keyframe_vvc import ToolMissingError, find_ffmpeg
from ifvc_common.files import sha256_file
from ifvc_common.outputs import OutputTransaction


@settings(max_examples=25, deadline=None)
@given(data=st.binary(max_size=3000), limit=st.none() | st.integers(0, 4000))
def test_sha256_file_of_the_whole_file_or_its_first_bytes(tmp_path_factory: pytest.TempPathFactory,
                                                          data: bytes, limit: int | None) -> None:
    path = tmp_path_factory.mktemp("sha") / "f.bin"
    path.write_bytes(data)
    assert sha256_file(path, limit) == hashlib.sha256(data if limit is None else data[:limit]).hexdigest()


def test_adopted_files_are_renamed_on_commit_and_removed_on_abort(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "a").write_bytes(b"A")
    (work / "b").write_bytes(b"B")
    with OutputTransaction() as outputs:
        outputs.adopt(work / "a", tmp_path / "a.out")
        outputs.write_bytes(tmp_path / "c.out", b"C")
    assert (tmp_path / "a.out").read_bytes() == b"A" and not (work / "a").exists()
    with pytest.raises(RuntimeError):
        with OutputTransaction() as outputs:
            outputs.adopt(work / "b", tmp_path / "b.out")
            raise RuntimeError("failed run")
    assert not (tmp_path / "b.out").exists() and not (work / "b").exists()


def test_find_ffmpeg_names_a_bad_explicit_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IFVC_FFMPEG", raising=False)
    with pytest.raises(ToolMissingError, match="ffmpeg not found: .*no-ffmpeg"):
        find_ffmpeg(tmp_path / "no-ffmpeg")
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    os.chmod(plain, 0o644)
    monkeypatch.setenv("IFVC_FFMPEG", str(plain))
    with pytest.raises(ToolMissingError, match="not executable: .*plain .from IFVC_FFMPEG"):
        find_ffmpeg()
