"""Structure-aware mutations of IFVC streams. Stream k of a run is a pure function of the run's
seed, k and the corpus (its own random generator, seeded by both), so any stream can be made
again from its number, in any order and in any worker."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Callable

from bitstream.profiles import LEVELS
from bitstream.bitio import write_leb128
from bitstream.structures import (KEYFRAME_CODEC_RAW, KEYFRAME_CODEC_VVC, KeyframeUnit,
                                  SemanticFrame, SemanticUnit, SequenceHeader, raw_picture_size)
from bitstream.units import SEQUENCE_HEADER_TYPES, UnitType

from .corpus import Corpus
from .model import StreamModel, Unit, element_trace, write_model

# Values an element is set to: the edges of its code and of the limits the spec sets on it.
_UE_EXTREMES = (0, 1, 2, 15, 16, 17, 255, 256, 299, 300, 301, 599, 600, 601, 65535, 65536,
                (1 << 31) - 1, 1 << 31, (1 << 32) - 1, 1 << 32)
_SE_EXTREMES = (0, 1, -1, 127, -128, 720, -720, 721, -721, 4096, -4096, (1 << 24) - 1, -(1 << 24),
                (1 << 31) - 1, -(1 << 31))
_PIC_SIZES = (15, 16, 17, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025,
              2048, 65535)


@dataclass(frozen=True)
class MutationConfig:
    max_mutations: int = 4          # structure mutations stacked on one stream (at least 1)
    byte_mutation_rate: float = 0.35
    max_amplify_units: int = 20000  # copies of a maximal-delta semantic unit (work / memory)


@dataclass
class Mutant:
    """A mutated stream, what was done to it, and what the full decode must do with it."""
    index: int
    seed_name: str
    data: bytes
    ops: list[str] = field(default_factory=list)
    must_reject: str | None = None   # why a decoder must reject it (the oracle for silent accepts)


def _level(sh: SequenceHeader | None):  # type: ignore[no-untyped-def]
    return LEVELS.get(sh.sh_level_idc if sh else 10) or LEVELS[max(LEVELS)]


def _pick_unit(rng: random.Random, model: StreamModel, types: tuple[int, ...] | None = None,
               structured: bool = False) -> int | None:
    idx = [k for k, u in enumerate(model.units)
           if (types is None or u.unit_type in types) and (not structured or u.structure is not None)]
    return rng.choice(idx) if idx else None


def _own(model: StreamModel, k: int) -> Unit:
    """Unit k, cloned so that the change does not reach the corpus."""
    model.units[k] = model.units[k].clone()
    return model.units[k]


# ---------------------------------------------------------------------------------------
# Unit-level mutations: order, duplication, removal, splicing
# ---------------------------------------------------------------------------------------
def m_swap(rng: random.Random, model: StreamModel, corpus: Corpus) -> str | None:
    if len(model.units) < 2:
        return None
    i, j = rng.sample(range(len(model.units)), 2)
    model.units[i], model.units[j] = model.units[j], model.units[i]
    return f"swap units {i} and {j}"


def m_move(rng: random.Random, model: StreamModel, corpus: Corpus) -> str | None:
    if len(model.units) < 2:
        return None
    i = rng.randrange(len(model.units))
    u = model.units.pop(i)
    j = rng.randrange(len(model.units) + 1)
    model.units.insert(j, u)
    return f"move unit {i} to {j}"


def m_duplicate(rng: random.Random, model: StreamModel, corpus: Corpus) -> str | None:
    if not model.units:
        return None
    i = rng.randrange(len(model.units))
    j = i + 1 if rng.random() < 0.5 else rng.randrange(len(model.units) + 1)
    copies = rng.choice((1, 1, 1, 2, 3, 8))
    for _ in range(copies):
        model.units.insert(j, model.units[i].clone())
    return f"duplicate unit {i} x{copies} at {j}"


def m_remove(rng: random.Random, model: StreamModel, corpus: Corpus) -> str | None:
    if not model.units:
        return None
    i = rng.randrange(len(model.units))
    n = rng.choice((1, 1, 1, 2, 3))
    del model.units[i:i + n]
    return f"remove units {i}..{i + n - 1}"


def m_splice_unit(rng: random.Random, model: StreamModel, corpus: Corpus) -> str | None:
    """A unit of another stream; its structure (when known) is written again with this
    stream's header, or its payload is kept as it was."""
    other = corpus.pick(rng)
    if not other.model.units:
        return None
    i = rng.randrange(len(other.model.units))
    u = other.model.units[i].clone()
    keep_bytes = rng.random() < 0.5 or isinstance(u.structure, SequenceHeader)
    if keep_bytes:
        u.structure = None
    else:
        u.dirty = True
    j = rng.randrange(len(model.units) + 1)
    model.units.insert(j, u)
    return f"splice unit {i} of {other.name} at {j} ({'bytes' if keep_bytes else 'structure'})"


def m_splice_streams(rng: random.Random, model: StreamModel, corpus: Corpus) -> str | None:
    other = corpus.pick(rng)
    i = rng.randrange(len(model.units) + 1)
    j = rng.randrange(len(other.model.units) + 1)
    model.units[i:] = other.model.units[j:]
    model.tail = other.model.tail
    return f"units 0..{i - 1}, then units {j}.. of {other.name}"


def m_drop_hash_units(rng: random.Random, model: StreamModel, corpus: Corpus) -> str | None:
    before = len(model.units)
    model.units = [u for u in model.units if u.unit_type != UnitType.HASH]
    return "remove every hash unit" if len(model.units) < before else None


# ---------------------------------------------------------------------------------------
# Framing: unit header and leb128 unit_payload_size
# ---------------------------------------------------------------------------------------
def m_leb128(rng: random.Random, model: StreamModel, corpus: Corpus) -> str | None:
    """The unit header or unit_payload_size of one unit made wrong (the size is that of the
    payload as finally written)."""
    if not model.units:
        return None
    k = rng.randrange(len(model.units))
    u = _own(model, k)
    t = (u.unit_type & 0x1F) << 2
    kind = rng.choice(("delta", "delta", "zero", "max", "nonminimal", "five_bytes", "type", "reserved"))
    if kind == "delta":
        d = rng.choice((-3, -2, -1, 1, 2, 3, 64, -64, 1000))
        u.header = lambda size: bytes([t]) + write_leb128(min(max(0, size + d), (1 << 28) - 1))
    elif kind == "zero":
        u.header = lambda size: bytes([t, 0])
    elif kind == "max":
        u.header = lambda size: bytes([t]) + write_leb128((1 << 28) - 1)
    elif kind == "nonminimal":
        def nonminimal(size: int) -> bytes:
            b = bytearray(write_leb128(size))
            b[-1] |= 0x80
            return bytes([t]) + bytes(b) + b"\x00"
        u.header = nonminimal
    elif kind == "five_bytes":
        u.header = lambda size: bytes([t]) + b"\x80\x80\x80\x80\x01"
    elif kind == "type":
        other = rng.randrange(32) << 2
        u.header = lambda size: bytes([other]) + write_leb128(size)
    else:
        bad = t | rng.choice((0x80, 0x01, 0x02, 0x03))
        u.header = lambda size: bytes([bad]) + write_leb128(size)
    return f"unit {k} header: {kind}"


# ---------------------------------------------------------------------------------------
# Syntax elements set to extremes
# ---------------------------------------------------------------------------------------
def _extreme(rng: random.Random, descriptor: str, value: int, name: str) -> int:
    if descriptor.startswith("u("):
        n = int(descriptor[2:-1])
        top = (1 << n) - 1
        return rng.choice((0, 1, top, top - 1, 1 << (n - 1), (value + 1) & top, (value - 1) & top)
                          + ((_PIC_SIZES[rng.randrange(len(_PIC_SIZES))],) if n == 16 else ()))
    if descriptor == "se(v)":
        return rng.choice(_SE_EXTREMES + (value + 1, value - 1, -value))
    if descriptor == "ae(v)" and ("flag" in name or "bit" in name):
        return 1 - (value & 1)
    return rng.choice(_UE_EXTREMES + (value + 1, max(0, value - 1)))


def m_element_extreme(rng: random.Random, model: StreamModel, corpus: Corpus) -> str | None:
    """One syntax element of one unit set to an edge value (its code, its range, a level
    limit, a count that then disagrees with the data)."""
    if rng.random() < 0.3:
        k = _pick_unit(rng, model, SEQUENCE_HEADER_TYPES, structured=True)
    else:
        k = _pick_unit(rng, model, structured=True)
    if k is None:
        return None
    entries = [e for e in element_trace(model, k) if isinstance(e.value, int)
               and (e.descriptor.startswith("u(") or e.descriptor in ("ue(v)", "se(v)", "ae(v)"))
               and e.name != "end_of_unit_one_bit" and not e.name.startswith("sh_generator_sha256")]
    if not entries:
        return None
    e = rng.choice(entries)
    value = _extreme(rng, e.descriptor, int(e.value), e.name)
    u = _own(model, k)
    u.overrides = dict(u.overrides or {})
    u.overrides[e.name] = value
    return f"unit {k}: {e.name} = {value} (was {e.value})"


def m_level_maxima(rng: random.Random, model: StreamModel, corpus: Corpus) -> str | None:
    """Frame index deltas and frames per semantic unit at (or just over) the level's maxima,
    in some or all units: the most frames a few bytes may ask for."""
    sh = model.sequence_header
    lim = _level(sh)
    over = 1 if rng.random() < 0.2 else 0
    delta = lim.max_frame_idx_delta + over
    fill = rng.random() < 0.5
    every = rng.random() < 0.5
    changed = 0
    for k, u in enumerate(model.units):
        if not isinstance(u.structure, (KeyframeUnit, SemanticUnit)) or not (every or rng.random() < 0.3):
            continue
        u = _own(model, k)
        u.dirty = True
        if isinstance(u.structure, KeyframeUnit):
            u.structure.kf_frame_idx_delta = delta
        else:
            u.structure.su_frame_idx_delta = delta
            if fill and u.structure.frames:
                target = lim.max_frames_per_unit + over
                frames = u.structure.frames[:target]   # then skipped frames (levels stay legal)
                u.structure.frames = frames + [SemanticFrame(1, []) for _ in range(target - len(frames))]
        changed += 1
    if not changed:
        return None
    if rng.random() < 0.8:         # hash entries name frame numbers that have now moved
        model.units = [x for x in model.units if x.unit_type != UnitType.HASH]
    live = rng.random() < 0.5
    k = _pick_unit(rng, model, SEQUENCE_HEADER_TYPES, structured=True)
    if live and k is not None:     # a live stream: no frame count for the end check to catch
        u = _own(model, k)
        u.dirty = True
        assert isinstance(u.structure, SequenceHeader)
        u.structure.sh_num_frames = 0
    return (f"frame index deltas {delta}{', frames per unit at the maximum' if fill else ''} "
            f"in {changed} units{', sh_num_frames 0' if live and k is not None else ''}")


def m_amplify(rng: random.Random, model: StreamModel, corpus: Corpus, max_units: int) -> str | None:
    """Many copies of a semantic unit with the largest frame index delta, no hash units: how
    much memory and time can a small stream ask of a decoder?"""
    k = _pick_unit(rng, model, (UnitType.SEMANTIC,), structured=True)
    if k is None or max_units < 2:
        return None
    u = _own(model, k)
    u.dirty = True
    su = u.structure
    assert isinstance(su, SemanticUnit)
    su.su_frame_idx_delta = _level(model.sequence_header).max_frame_idx_delta
    su.frames = [SemanticFrame(1, [])]
    copies = max(2, min(max_units, round(2 ** rng.uniform(1, math.log2(max_units)))))
    model.units[k + 1:k + 1] = [u] * (copies - 1)      # shared: written once per copy
    model.units = [x for x in model.units if x.unit_type != UnitType.HASH]
    return f"unit {k}: maximal delta, 1 skipped frame, x{copies}, no hash units"


def m_picture_geometry(rng: random.Random, model: StreamModel, corpus: Corpus) -> Mutant | str | None:
    """Another picture size / chroma format in the header. Raw key frames are resized to
    match (the parser then accepts them: a test of the picture decoder); VVC key frames keep
    their payload, which no longer matches the header: a decoder must reject the stream."""
    k = _pick_unit(rng, model, SEQUENCE_HEADER_TYPES, structured=True)
    if k is None:
        return None
    u = _own(model, k)
    u.dirty = True
    sh = u.structure
    assert isinstance(sh, SequenceHeader)
    w, h = sh.sh_pic_width, sh.sh_pic_height
    kind = rng.choice(("odd", "swap", "same_samples", "double_samples", "random", "chroma"))
    if kind == "odd":
        nw, nh = w + rng.choice((-1, 1, 0)), h + rng.choice((-1, 1))
    elif kind == "swap":
        nw, nh = h, w
    elif kind == "same_samples":
        nw, nh = (w * 2, h // 2) if rng.random() < 0.5 else (w // 2, h * 2)
    elif kind == "double_samples":   # a 10-bit picture has the bytes of an 8-bit one twice its size
        nw, nh = (w * 2, h) if rng.random() < 0.5 else (w, h * 2)
    elif kind == "random":
        nw, nh = rng.choice(_PIC_SIZES[:-1]), rng.choice(_PIC_SIZES[:-1])
    else:
        nw, nh = w, h
        sh.sh_chroma_format_idc = 1 if sh.sh_chroma_format_idc == 3 else 3
    nw, nh = max(16, min(nw, 1024)), max(16, min(nh, 1024))
    sh.sh_pic_width, sh.sh_pic_height = nw, nh
    for idc, lim in sorted(LEVELS.items()):
        if max(nw, nh) <= lim.max_pic_size and sh.sh_level_idc < idc:
            sh.sh_level_idc = idc
            break
    size = raw_picture_size(sh)
    has_vvc = False
    for j, v in enumerate(model.units):
        if isinstance(v.structure, KeyframeUnit):
            if v.structure.kf_codec_id == KEYFRAME_CODEC_RAW:
                v = _own(model, j)
                v.dirty = True
                pic = v.structure.kf_picture_payload or b"\x80"
                v.structure.kf_picture_payload = (pic * (size // len(pic) + 1))[:size]
            elif v.structure.kf_codec_id == KEYFRAME_CODEC_VVC:
                has_vvc = True
    op = f"picture {w}x{h} -> {nw}x{nh}, chroma_format_idc {sh.sh_chroma_format_idc} ({kind})"
    if has_vvc and (nw, nh) != (w, h):
        return Mutant(-1, "", b"", [op], must_reject=f"VVC key frames coded at {w}x{h} "
                      f"under a {nw}x{nh} header ({kind.replace('_', ' ')})")
    return op


# ---------------------------------------------------------------------------------------
# Byte-level mutations of the written stream
# ---------------------------------------------------------------------------------------
def byte_mutation(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    buf = bytearray(data)
    if not buf:
        return bytes([rng.randrange(256)]), "one random byte"
    kind = rng.choice(("flip", "flip", "flip", "set", "insert", "delete", "truncate"))
    if kind == "flip":
        n = rng.choice((1, 1, 2, 3, 8))
        for _ in range(n):
            p = rng.randrange(8 * len(buf))
            buf[p >> 3] ^= 0x80 >> (p & 7)
        return bytes(buf), f"flip {n} bit(s)"
    p = rng.randrange(len(buf))
    if kind == "set":
        v = rng.choice((0x00, 0xFF, 0x80, 0x7F, rng.randrange(256)))
        buf[p] = v
        return bytes(buf), f"byte {p} = {v:#04x}"
    if kind == "insert":
        n = rng.choice((1, 2, 4, 16))
        buf[p:p] = bytes(rng.randrange(256) for _ in range(n))
        return bytes(buf), f"insert {n} byte(s) at {p}"
    if kind == "delete":
        n = rng.choice((1, 2, 4, 16))
        del buf[p:p + n]
        return bytes(buf), f"delete {n} byte(s) at {p}"
    return bytes(buf[:p]), f"truncate at {p}"


Mutator = Callable[[random.Random, StreamModel, Corpus], "str | Mutant | None"]

# (weight, mutator): frequent cheap mutations, rarer expensive ones
MUTATORS: list[tuple[float, str]] = [
    (6, "element_extreme"), (3, "swap"), (2, "move"), (3, "duplicate"), (3, "remove"),
    (3, "splice_unit"), (2, "splice_streams"), (3, "leb128"), (1.5, "level_maxima"),
    (0.5, "drop_hash_units"), (1.5, "picture_geometry"), (0.05, "amplify"),
]


def mutate(corpus: Corpus, seed: int, index: int, config: MutationConfig = MutationConfig()) -> Mutant:
    """Stream `index` of the run with this seed: a seed stream of the corpus, one or more
    structure mutations, perhaps a byte mutation."""
    rng = random.Random(f"ifvc-fuzz/{seed}/{index}")
    base = corpus.pick(rng)
    model = base.model.copy()
    ops: list[str] = []
    must_reject: str | None = None
    n = 1
    while n < config.max_mutations and rng.random() < 0.45:
        n += 1
    byte_only = rng.random() < 0.15
    names = [name for _, name in MUTATORS]
    weights = [w for w, _ in MUTATORS]
    for _ in range(0 if byte_only else n):
        name = rng.choices(names, weights)[0]
        if name == "amplify":
            res = m_amplify(rng, model, corpus, config.max_amplify_units)
        else:
            res = _BY_NAME[name](rng, model, corpus)
        if isinstance(res, Mutant):
            must_reject = res.must_reject
            ops += res.ops
        elif res:
            ops.append(res)
            must_reject = None  # a later change may undo what the oracle relied on
    data = write_model(model)
    if byte_only or rng.random() < config.byte_mutation_rate:
        data, op = byte_mutation(rng, data)
        ops.append(op)
        must_reject = None      # a byte change may repair what the oracle relied on
    return Mutant(index, base.name, data, ops, must_reject)


_BY_NAME: dict[str, Mutator] = {
    "element_extreme": m_element_extreme, "swap": m_swap, "move": m_move, "duplicate": m_duplicate,
    "remove": m_remove, "splice_unit": m_splice_unit, "splice_streams": m_splice_streams,
    "leb128": m_leb128, "level_maxima": m_level_maxima, "drop_hash_units": m_drop_hash_units,
    "picture_geometry": m_picture_geometry,
}

__all__ = ["MutationConfig", "Mutant", "mutate", "byte_mutation", "MUTATORS"]
