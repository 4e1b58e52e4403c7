"""Adaptive refresh's picture-wide measures (ref_encoder/adaptive_refresh.py): the invented share
(the part of the picture that the person layer draws from beyond the key picture's edges) and
the failed share (the part in blocks that show other content than the source)."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ref_encoder.adaptive_refresh import (FAILED_BLOCK, FAILED_BLOCK_DB, INVENTED_AUTO_MAX_QP, INVENTED_AUTO_PCT,
                                          INVENTED_MARGIN_PX, AdaptiveRefresh, failed_share, invented_share, resolve_failed, resolve_invented)
from tests.test_multi_reference import _encode as encode_clip
# fixtures: the head-turn clip of the test split, prepared once (a fixture, not a tuning set), and
# the pictures the refresh judges
from tests.test_multi_reference import judged_pictures, sequence  # noqa: F401


def _identity(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs, ys


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 40), st.integers(0, 40), st.floats(0.0, 1.0, width=32))
def test_invented_share_counts_rows_drawn_from_below_the_key_picture(shift: int, rows: int, alpha: float) -> None:
    """The person layer moved up by `shift` rows draws its bottom rows from below the key
    picture; those `shift - margin` rows (weighted by alpha) are the invented share, and only
    inside the person layer."""
    h = w = 48
    map_x, map_y = _identity(h, w)
    map_y = map_y + np.float32(shift)
    person = np.zeros((h, w), np.float32)
    person[h - rows:] = alpha                     # the person: the bottom `rows` rows
    outside_rows = max(0, shift - int(np.ceil(INVENTED_MARGIN_PX)) + 1)   # map_y >= h - 1 + margin
    expected = alpha * min(rows, outside_rows) * w / (h * w)
    assert invented_share(map_x, map_y, person) == pytest.approx(expected, abs=1e-6)


def test_invented_share_sides_and_margin() -> None:
    h, w = 32, 40
    map_x, map_y = _identity(h, w)
    person = np.ones((h, w), np.float32)
    assert invented_share(map_x, map_y, person) == 0.0
    # within the margin: the kernel's own reach, not invented
    assert invented_share(map_x - np.float32(INVENTED_MARGIN_PX - 0.5), map_y, person) == 0.0
    # moved right by 10 columns: the 10 - margin + 1 leftmost columns come from beyond the left edge
    share = invented_share(map_x - 10, map_y, person)
    assert share == pytest.approx((10 - INVENTED_MARGIN_PX + 1) / w)
    assert invented_share(map_x, map_y - 10, person) == pytest.approx((10 - INVENTED_MARGIN_PX + 1) / h)
    assert invented_share(map_x, map_y - 10, np.zeros_like(person)) == 0.0   # the plate: not the person


def test_resolve_share_limits() -> None:
    assert resolve_invented("off") is None and resolve_failed("off") is None
    assert resolve_invented("2.5") == pytest.approx(0.025) and resolve_failed(100) == 1.0
    for bad in ("0", "-1", "101", "often", "nan"):
        with pytest.raises(ValueError, match="refresh invented share"):
            resolve_invented(bad)
        with pytest.raises(ValueError, match="refresh failed share"):
            resolve_failed(bad)
    with pytest.raises(ValueError, match="refresh failed share 'auto': use off or a percentage"):
        resolve_failed("auto")      # only the invented share has an automatic limit


def test_invented_auto_follows_the_keyframe_qp() -> None:
    """auto: INVENTED_AUTO_PCT at key-frame QPs up to INVENTED_AUTO_MAX_QP, off above; an explicit
    limit ignores the QP."""
    assert resolve_invented("auto", INVENTED_AUTO_MAX_QP) == pytest.approx(INVENTED_AUTO_PCT / 100)
    assert resolve_invented("auto", 22) == pytest.approx(INVENTED_AUTO_PCT / 100)
    assert resolve_invented("auto", INVENTED_AUTO_MAX_QP + 1) is None
    assert resolve_invented("5", 52) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="use off, auto or a percentage"):
        resolve_invented("sometimes", 32)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 70), st.integers(1, 70), st.integers(0, 255), st.data())
def test_failed_share_counts_the_area_of_blocks_below_the_limit(h: int, w: int, level: int,
                                                                data: st.DataObject) -> None:
    """Blocks of FAILED_BLOCK (cut at the picture's edges) whose PSNR is below FAILED_BLOCK_DB:
    one block made different by `level` in every sample fails exactly when its PSNR
    20 log10(255 / level) is below the limit, and counts by its area."""
    a = np.full((h, w, 3), 128, np.uint8)
    b = a.copy()
    by = data.draw(st.integers(0, (h - 1) // FAILED_BLOCK))
    bx = data.draw(st.integers(0, (w - 1) // FAILED_BLOCK))
    y0, x0 = by * FAILED_BLOCK, bx * FAILED_BLOCK
    y1, x1 = min(y0 + FAILED_BLOCK, h), min(x0 + FAILED_BLOCK, w)
    b[y0:y1, x0:x1] = np.uint8(min(128 + level, 255))
    diff = min(128 + level, 255) - 128
    fails = diff > 0 and 20 * np.log10(255 / diff) < FAILED_BLOCK_DB
    expected = (y1 - y0) * (x1 - x0) / (h * w) if fails else 0.0
    assert failed_share(a, b) == pytest.approx(expected) and failed_share(b, a) == failed_share(a, b)
    assert failed_share(a, a) == 0.0


def refresh_option_error(capsys: pytest.CaptureFixture[str], tmp_path: Path, options: list[str]) -> str:
    """The one line ifvc-encode --refresh auto OPTIONS prints on a bad option (exit 2, no stream)."""
    from ref_encoder import cli as encode_cli
    src = tmp_path / "x.rgb"
    src.write_bytes(bytes(256 * 256 * 3))
    with pytest.raises(SystemExit) as exc:
        encode_cli.main([str(src), "--width", "256", "--height", "256", "--refresh", "auto", *options,
                         "-o", str(tmp_path / "x.ifvc")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert not (tmp_path / "x.ifvc").exists()
    return err[0]


def test_refresh_invented_option_errors_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert "refresh invented share 'lots'" in refresh_option_error(capsys, tmp_path, ["--refresh-invented", "lots"])


def test_only_generators_with_a_person_layer_measure_it() -> None:
    """The invented share needs a person layer (ifvc-geometric-3 and later: the default
    ifvc-geometric-10 has one); elsewhere, and without --refresh, the encoder says that a limit
    has no effect (auto too, at a QP where it would measure), and says nothing by default."""
    from ref_encoder.encoder import Encoder, EncoderConfig
    assert AdaptiveRefresh("ifvc-geometric-5", 17.0, 1, invented_limit=0.05).invented_limit == 0.05
    assert AdaptiveRefresh("ifvc-geometric-10", 17.0, 1, invented_limit=0.03).invented_limit == 0.03
    assert AdaptiveRefresh("ifvc-geometric-1", 17.0, 1, invented_limit=0.05).invented_limit is None
    assert AdaptiveRefresh("ifvc-geometric-2", 17.0, 1, invented_limit=0.05).invented_limit is None
    assert AdaptiveRefresh("ifvc-geometric-1", 17.0, 1, failed_limit=0.1).failed_limit == 0.1
    said: list[str] = []
    for generator, refresh, expected in (("ifvc-geometric-1", "auto", "ifvc-geometric-1 has no person layer"),
                                         ("ifvc-geometric-5", "off", "without --refresh"),
                                         ("ifvc-geometric-5", "auto", None)):
        said.clear()
        Encoder(EncoderConfig(keyframe_codec="raw", generator_name=generator, refresh=refresh,
                              refresh_invented="5"), 64, 64, Fraction(25), warn=said.append)
        about_refresh = [m for m in said if "--refresh" in m]
        if expected is None:
            assert about_refresh == []
        else:
            assert len(about_refresh) == 1 and expected in about_refresh[0]
        for invented, qp, says in (("auto", 32, expected), ("auto", 33, None), ("off", 32, None)):
            said.clear()
            Encoder(EncoderConfig(keyframe_codec="raw", generator_name=generator, refresh=refresh,
                                  refresh_invented=invented, keyframe_qp=qp), 64, 64, Fraction(25), warn=said.append)
            about_refresh = [m for m in said if "--refresh" in m]
            assert about_refresh == [] if says is None else (len(about_refresh) == 1 and says in about_refresh[0])


def _encode(seq: Path, **kw: object):  # type: ignore[no-untyped-def]
    # VVenC's own in-loop filters: with the default's key pictures (no ALF) every frame of this
    # clip still judged at the end is over the limit and became a key frame, so no judged
    # semantic frame is left to compare with the decoder's picture
    return encode_clip(seq, generator_name="ifvc-geometric-5", **{"keyframe_filters": "vvenc", **kw})


def test_invented_share_inserts_key_frames_the_face_measure_would_not(sequence: Path,
                                                                      judged_pictures: dict[int, bytes]) -> None:
    """With a face threshold that never fires, the invented share alone decides: a limit below
    what the frames show inserts key frames where it is exceeded, 'off' inserts none, and the
    picture it judges is the one the decoder draws (synthesize_with_layers draws synthesize's
    picture)."""
    from ref_decoder.decoder import Decoder
    pictures = judged_pictures
    off = _encode(sequence, refresh=0.001, refresh_invented="off", refresh_failed="off")
    assert off.refresh is not None and off.refresh.inserted == 0 and not off.refresh.invented
    measured = _encode(sequence, refresh=0.001, refresh_invented="100", refresh_failed="100")   # measured, never exceeded
    assert measured.refresh is not None and measured.refresh.inserted == 0
    assert measured.stream == off.stream
    shares = dict(measured.refresh.invented)
    assert len(shares) == len(measured.refresh.failed) == measured.refresh.checked > 0
    over = sorted(i for i, share in shares.items() if share > 0.0)
    assert over, "the head-turn clip draws some of its person from beyond the key picture"
    first_over = over[0]
    pictures.clear()
    fired = _encode(sequence, refresh=0.001, refresh_invented="1e-9", refresh_failed="off")
    keys = [f.frame_idx for f in fired.frames if f.kind == "key"]
    assert fired.refresh is not None and fired.refresh.inserted == len(keys) - 1 >= 1
    # The first frame over the limit, or one before it in its unit: a cut re-chooses the levels of
    # the unit's frames before it (closed-loop RDOQ over fewer frames), which can move an earlier
    # frame over the limit too. The frame made key was itself judged over the limit.
    fired_shares = dict(fired.refresh.invented)
    assert keys[1] <= first_over and fired_shares[keys[1]] > 0.0
    assert all(fired_shares.get(i, 0.0) == 0.0 for i in range(keys[1]))
    assert fired.refresh.inserted_by == {"invented": fired.refresh.inserted}   # never the face threshold
    decoder = Decoder()
    decoded = {f.frame_idx: f for f in decoder.decode(fired.stream)}
    judged_semantic = [i for i in pictures if fired.frames[i].kind == "semantic"]
    assert judged_semantic and all(pictures[i] == decoded[i].rgb.tobytes() for i in judged_semantic)
    # the refresh judges the picture of synthesize_with_layers: the decoder's picture (the frames
    # after the last key frame, drawn again from the decoder's final references)
    after = [f for i, f in decoded.items() if i > keys[-1]]
    assert after and all(decoder.generator.synthesize_with_layers(f.values)[0].tobytes() == f.rgb.tobytes()
                         for f in after)


def test_failed_share_inserts_key_frames(sequence: Path) -> None:
    """The failed share alone (face threshold and invented share off): a limit below the first
    checked frame's share makes that frame a key frame; above every share, nothing changes."""
    measured = _encode(sequence, refresh=0.001, refresh_invented="off", refresh_failed="100")
    assert measured.refresh is not None and measured.refresh.inserted == 0
    shares = dict(measured.refresh.failed)
    first, share = min(shares.items())
    assert share > 0.0, "the head-turn clip at QP 42 has blocks below the limit"
    fired = _encode(sequence, refresh=0.001, refresh_invented="off", refresh_failed=f"{50 * share:.9g}")
    assert [f.frame_idx for f in fired.frames if f.kind == "key"][:2] == [0, first]
    assert fired.refresh is not None and fired.refresh.inserted_by["failed"] == fired.refresh.inserted
    from ref_encoder.encoder import EncoderConfig
    assert EncoderConfig().refresh_invented == EncoderConfig().refresh_failed == "off"   # opt-in


def test_measurement_logs_are_bounded() -> None:
    """RefreshStats keeps the last MEASURE_LOG_LEN measurements of each kind: the encoder's memory
    does not grow with the stream."""
    from ref_encoder.adaptive_refresh import MEASURE_LOG_LEN, RefreshStats
    stats = RefreshStats()
    for log in (stats.quality, stats.invented, stats.failed):
        log.extend((i, float(i)) for i in range(MEASURE_LOG_LEN + 10))
        assert len(log) == MEASURE_LOG_LEN and log[0] == (10, 10.0)


def test_workers_measure_the_invented_share_with_the_picture(sequence: Path, judged_pictures: dict[int, bytes],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """With the correction grid on, a worker (ref_encoder/draw_ahead.py) draws the pictures the
    refresh judges and measures their invented share with them (judged_pictures checks each
    share against the field that draws the picture); the stream, and the key frames the invented
    share inserts, are those of the encoder's thread alone."""
    from ref_encoder import adaptive_refresh
    spy = adaptive_refresh.AdaptiveRefresh.falls_short
    given_shares: list[int] = []

    def count(self, frame_idx, *args):  # type: ignore[no-untyped-def]
        if len(args) >= 6 and args[5] is not None:
            given_shares.append(frame_idx)
        return spy(self, frame_idx, *args)

    monkeypatch.setattr(adaptive_refresh.AdaptiveRefresh, "falls_short", count)
    runs = {t: _encode(sequence, refresh=0.001, refresh_invented="1e-9", correction_grid="on", threads=t)
            for t in (1, 2)}
    assert runs[1].stream == runs[2].stream
    assert runs[2].refresh is not None and runs[2].refresh.inserted_by == {"invented": runs[2].refresh.inserted} != {}
    assert given_shares, "the worker measured no invented share"
