"""The registered generator table (bitstream/generator_registry.py): the encoder refuses
names no decoder knows, and the decoder's generators agree with the table."""
from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import pytest

from bitstream.generator_registry import (GENERATOR_BY_NAME, NO_WEIGHTS_SHA256, REGISTERED_GENERATORS,
                                          UnknownGeneratorError, resolve_generator_id)
from ifvc_synthesis.generators import GeometricGenerator, known_generators, shipped_weights
from ref_encoder import cli as encode_cli
from ref_encoder.encoder import Encoder, EncoderConfig


def test_the_decoder_registry_agrees_with_the_table() -> None:
    assert set(known_generators()) <= set(GENERATOR_BY_NAME)
    assert GeometricGenerator.weights_sha256 == GENERATOR_BY_NAME[GeometricGenerator.name].weights_sha256
    assert GENERATOR_BY_NAME["ifvc-geometric-1"].weights_sha256 == NO_WEIGHTS_SHA256
    for g in REGISTERED_GENERATORS:
        if g.weights_sha256 != NO_WEIGHTS_SHA256:
            weights = shipped_weights(g.name)
            if not weights.is_file():
                pytest.skip(f"{weights} is not shipped in this checkout")
            assert hashlib.sha256(weights.read_bytes()).digest() == g.weights_sha256, g.name


def test_learned_generator_pins_the_table_digest() -> None:
    learned = pytest.importorskip("ifvc_synthesis.generators.learned")
    assert bytes.fromhex(learned.WEIGHTS_SHA256_HEX) == GENERATOR_BY_NAME[learned.NAME].weights_sha256


def test_resolve_generator_id() -> None:
    refine = GENERATOR_BY_NAME["ifvc-refine-1"].weights_sha256
    assert resolve_generator_id("ifvc-geometric-1", None) == (NO_WEIGHTS_SHA256, [])
    assert resolve_generator_id("ifvc-refine-1", None) == (refine, [])        # the shipped weights
    assert resolve_generator_id("ifvc-refine-1", refine) == (refine, [])
    own = hashlib.sha256(b"my weights").digest()
    assert resolve_generator_id("lab-gen-2", own) == (own, [])                 # a generator of one's own
    digest, notes = resolve_generator_id("ifvc-refine-1", own)
    assert digest == own and len(notes) == 1 and "not its shipped ones" in notes[0] and refine.hex() in notes[0]
    with pytest.raises(UnknownGeneratorError, match="unknown generator 'foo'.*ifvc-geometric-1, ifvc-refine-1"):
        resolve_generator_id("foo", None)


def test_encoder_refuses_an_unknown_generator_and_warns_about_foreign_weights() -> None:
    with pytest.raises(UnknownGeneratorError):
        Encoder(EncoderConfig(generator_name="foo"), 64, 64, Fraction(25))
    warned: list[str] = []
    enc = Encoder(EncoderConfig(generator_name="ifvc-geometric-1", generator_sha256=bytes(range(32))),
                  64, 64, Fraction(25), warn=warned.append)
    assert enc.sh.sh_generator_sha256 == bytes(range(32)) and "not its shipped ones (none)" in warned[0]
    enc = Encoder(EncoderConfig(generator_name="ifvc-refine-1"), 64, 64, Fraction(25))
    assert enc.sh.sh_generator_sha256 == GENERATOR_BY_NAME["ifvc-refine-1"].weights_sha256


def test_encoder_cli_refuses_an_unknown_generator_before_writing(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    seq = tmp_path / "s.rgb"
    seq.write_bytes(bytes(2 * 3 * 64 * 64))
    out = tmp_path / "o.ifvc"
    assert encode_cli.main([str(seq), "--width", "64", "--height", "64", "--generator", "foo",
                            "-o", str(out), "--quiet"]) != 0
    assert "unknown generator 'foo'" in capsys.readouterr().err and not out.exists()


def test_spec_table_3a_lists_the_registry() -> None:
    spec = (Path(__file__).resolve().parents[1] / "spec" / "ifvc_spec.md").read_text()
    lines = spec[spec.index("Table 3a – Registered generators"):].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    listed = {name: (NO_WEIGHTS_SHA256 if digest.startswith("all zero") else bytes.fromhex(digest), int(gid),
                     plate.startswith("moved"))
              for name, digest, _, gid, plate in rows[2:]}         # after the header and rule rows
    assert listed == {g.name: (g.weights_sha256, g.generator_id, g.background_plate) for g in REGISTERED_GENERATORS}
