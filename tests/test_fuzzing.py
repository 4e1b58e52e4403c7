"""The stream fuzzer (conformance/fuzzing, tools/fuzz_streams): reproducible mutations, outcome
classification in worker processes, signatures, minimisation, and the seeded CI run on the
parse path over the committed conformance streams."""
from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest

from bitstream.errors import BitstreamError
from bitstream.stream import StreamParser
from conformance.fuzzing.campaign import run_campaign
from conformance.fuzzing.corpus import ENCODER_SEEDS, Corpus, conformance_seeds, encoder_key, load_corpus
from conformance.fuzzing.minimise import Budget, ddmin, minimise, split_units
from conformance.fuzzing.model import read_model, write_model
from conformance.fuzzing.mutators import MUTATORS, MutationConfig, mutate
from conformance.fuzzing.runner import (ACCEPTED, CRASH, FAILURES, HANG, MEMORY, PATH_PARSE, REJECTED,
                                        Limits, WorkerSpec, run_items)
from conformance.fuzzing.signatures import normalise_message, signature
from tools import fuzz_streams

CI_SEED = 20261202
CI_COUNT = 5000
CI_MUTATION = MutationConfig(max_amplify_units=64)   # amplification kept small: a quick run


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus(None)          # the committed conformance streams alone


# ---------------------------------------------------------------------------------------
# The CI run
# ---------------------------------------------------------------------------------------
def test_seeded_parse_path_run_has_no_failure(corpus: Corpus, tmp_path: Path) -> None:
    """A fixed seed and count: every mutated stream is accepted or rejected with the project's
    own error (BitstreamError / DecodingError with a message); no crash, hang or memory
    exhaustion. On failure, the message names each signature and how to make its stream."""
    t0 = time.monotonic()
    report = run_campaign(corpus, seed=CI_SEED, count=CI_COUNT, workers=2, out_dir=tmp_path,
                          mutation=CI_MUTATION, minimise_tests=0)
    stats = report.paths[PATH_PARSE]
    assert stats.streams == CI_COUNT
    problems = [f"{f.signature} (x{f.count}; stream {f.first_index} from {f.seed_stream}: "
                f"{'; '.join(f.ops)}; make it with: python -m tools.fuzz_streams --no-encoder-seeds "
                f"--seed {CI_SEED} --max-amplify 64 --write-stream {f.first_index})" for f in report.failures]
    assert not problems, "\n".join(problems)
    assert set(stats.outcomes) <= {ACCEPTED, REJECTED}
    # both outcomes occur: the mutations neither break everything nor leave everything valid
    assert stats.outcomes[ACCEPTED] > 0 and stats.outcomes[REJECTED] > 0
    saved = json.loads((tmp_path / f"report_seed{CI_SEED}.json").read_text())
    assert saved["paths"]["parse"]["streams"] == CI_COUNT
    assert saved["corpus"]["digest"] == corpus.digest
    print(f"CI fuzz run: {CI_COUNT} streams in {time.monotonic() - t0:.1f} s")


# ---------------------------------------------------------------------------------------
# Corpus and mutations
# ---------------------------------------------------------------------------------------
def test_every_conformance_stream_is_a_seed_and_round_trips(corpus: Corpus) -> None:
    seeds = conformance_seeds()
    assert len(corpus) == len(seeds) > 0
    for name, data in seeds:
        assert write_model(read_model(data)) == data, name


def test_same_seed_same_streams_and_streams_differ(corpus: Corpus) -> None:
    first = [mutate(corpus, 5, i).data for i in range(200)]
    again = [mutate(corpus, 5, i).data for i in reversed(range(200))][::-1]
    assert first == again                       # order and process do not matter
    assert len(set(first)) > 190
    other = [mutate(corpus, 6, i).data for i in range(200)]
    assert sum(a != b for a, b in zip(first, other)) > 190
    seeds = {s.data for s in corpus.seeds}
    # nearly every stream really changed: a few mutations are no-ops (a field set to the value it
    # has, a unit moved to its own place) and their share depends on the corpus (which streams
    # the seeded choices land on), so the bound is a share (10 %), not a count fitted to one corpus
    assert sum(d in seeds for d in first) <= 0.1 * len(first)


def test_every_mutator_is_used_and_changes_streams(corpus: Corpus) -> None:
    used: dict[str, int] = {}
    keywords = {"element_extreme": " = ", "swap": "swap", "move": "move", "duplicate": "duplicate",
                "remove": "remove units", "splice_unit": "splice unit", "splice_streams": "then units",
                "leb128": "header:", "level_maxima": "frame index deltas",
                "drop_hash_units": "every hash unit", "picture_geometry": "picture ",
                "amplify": "maximal delta"}
    assert set(keywords) == {name for _, name in MUTATORS}
    for i in range(3000):
        for op in mutate(corpus, 11, i, MutationConfig(max_amplify_units=8)).ops:
            for name, key in keywords.items():
                if key in op:
                    used[name] = used.get(name, 0) + 1
    assert set(used) == set(keywords), set(keywords) - set(used)


def test_level_maxima_reach_the_level_limit(corpus: Corpus) -> None:
    """The mutation that sets frame index deltas to the level maximum makes streams that the
    parser accepts and that ask for many inferred frames."""
    from conformance.fuzzing.mutators import m_level_maxima
    seed = next(s for s in corpus.seeds if s.name == "conformance/eg_fpu1_hashframe")
    most = 0
    for k in range(40):
        model = seed.model.copy()
        if not m_level_maxima(random.Random(k), model, corpus):
            continue
        try:
            units = list(StreamParser().parse(write_model(model)))
        except BitstreamError:
            continue
        most = max(most, sum(len(getattr(u, "frames", [])) + len(getattr(u, "inferred_before", []))
                             for u in units))
    assert most >= 2 * 300     # level 1.0: at most 300 inferred frames per unit, several units


def test_encoder_seed_list_and_key() -> None:
    names = [s.name for s in ENCODER_SEEDS]
    assert len(names) == len(set(names))
    assert {s.frames_per_unit for s in ENCODER_SEEDS} == {1, 8, 16}
    assert {s.entropy_coding_mode for s in ENCODER_SEEDS} == {0, 1}
    refresh = {s.frames_per_unit for s in ENCODER_SEEDS if s.keyframe_period or s.keyframe_pose_threshold}
    assert refresh == {1, 8}                      # key-frame refresh with and without shortened units
    assert encoder_key() == encoder_key() and len(encoder_key()) == 16


# ---------------------------------------------------------------------------------------
# Outcomes in workers: crash, hang, memory, and the pool survives each
# ---------------------------------------------------------------------------------------
def _target(data: bytes) -> None:
    """A stand-in decoder with each kind of failure, chosen by the first byte."""
    if data[:1] == b"c":
        raise KeyError(f"frame {len(data)}")
    if data[:1] == b"h":
        while True:
            pass
    if data[:1] == b"m":
        hog = []
        while True:
            hog.append(bytearray(1 << 20))
    if data[:1] == b"r":
        raise BitstreamError(f"bad unit at byte {len(data)}", element="x")
    if data[:1] == b"e":
        raise BitstreamError("")


def test_outcomes_of_each_kind_and_the_pool_survives() -> None:
    spec = WorkerSpec(PATH_PARSE, Limits(0.5, 64), target=_target)
    items = [b"ok", b"c1", b"ok2", b"h", b"r", b"m", b"e", b"c22", b"fine"]
    outs = run_items(spec, items, workers=2, batch=4)
    kinds = sorted(o.kind for o in outs)
    assert kinds == sorted([ACCEPTED, CRASH, ACCEPTED, HANG, REJECTED, MEMORY, CRASH, CRASH, ACCEPTED])
    crashes = [o for o in outs if o.kind == CRASH]
    sigs = {o.signature for o in crashes}
    # the two KeyErrors differ only in a number: one signature; an empty message is a crash
    assert len(sigs) == 2
    assert any(s and s.startswith("crash: KeyError at ?") for s in sigs)
    assert any(s and "no message" in s for s in sigs)
    assert all(o.signature for o in outs if o.kind in FAILURES)


def test_signature_normalisation() -> None:
    assert normalise_message("frame 33 at 0x7f3a, 'abc' 12.5") == normalise_message("frame 7 at 0x10, 'x' 3.0")
    assert signature("crash", "KeyError", "bitstream/stream.py:_hash", "33") == \
        "crash: KeyError at bitstream/stream.py:_hash: N"


# ---------------------------------------------------------------------------------------
# Minimisation
# ---------------------------------------------------------------------------------------
def test_ddmin_finds_a_one_minimal_subset() -> None:
    items = list(range(40))
    result = ddmin(items, lambda xs: 7 in xs and 23 in xs, Budget(1000))
    assert result == [7, 23]


def test_minimise_keeps_the_failure_and_removes_the_rest(corpus: Corpus) -> None:
    data = next(s.data for s in corpus.seeds if s.name == "conformance/eg_fpu1_hashframe")
    assert len(split_units(data)) > 3
    marker = data[40:44]

    def fails(candidate: bytes) -> bool:
        return marker in candidate
    small = minimise(data, fails, max_tests=2000)
    assert small == marker


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------
def test_cli_writes_a_stream_and_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = fuzz_streams.main(["--no-encoder-seeds", "--seed", "3", "--write-stream", "17", "--out", str(tmp_path)])
    assert rc == 0
    written = (tmp_path / "stream_3_17.ifvc").read_bytes()
    assert written == mutate(load_corpus(None), 3, 17).data
    rc = fuzz_streams.main(["--no-encoder-seeds", "--seed", "3", "--count", "40", "--full-count", "0",
                            "--workers", "1", "--out", str(tmp_path)])
    assert rc == 0
    assert "parse: 40 streams" in capsys.readouterr().out
    assert json.loads((tmp_path / "report_seed3.json").read_text())["paths"]["parse"]["streams"] == 40


@pytest.mark.parametrize("argv", [["--count", "-1"], ["--workers", "0"], ["--time-limit", "0"]])
def test_cli_rejects_bad_numbers(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        fuzz_streams.main(argv)
    assert exc.value.code == 2
    assert "must be" in capsys.readouterr().err


def test_cli_only_seeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert fuzz_streams.main(["--no-encoder-seeds", "--only-seeds", "nothing*", "--out", str(tmp_path)]) == 2
    assert "no seed matches" in capsys.readouterr().err
    rc = fuzz_streams.main(["--no-encoder-seeds", "--only-seeds", "*raw420*", "--count", "20", "--full-count", "0",
                            "--workers", "1", "--minimise-tests", "0", "--out", str(tmp_path)])
    assert rc == 0
    seeds = json.loads((tmp_path / "report_seed1.json").read_text())["corpus"]["seeds"]
    assert seeds == ["conformance/cabac_raw420", "conformance/cabac_raw420_odd_31x32",
                     "conformance/cabac_raw420_odd_32x19", "conformance/eg_raw420", "conformance/eg_raw420_odd_33x17"]


def test_cli_missing_extra_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert fuzz_streams.main(["--extra-seed", str(tmp_path / "none.ifvc")]) == 2
    assert "seed stream not found" in capsys.readouterr().err
