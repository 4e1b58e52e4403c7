"""Which key-frame geometry payload a stream may carry, and its decoding (spec 7.4.3, Annex E.2).

kf_geometry_version 0: no normative content (the posed canonical face stands in);
1: geometry_payload_v1( ) (E.2.1), in every profile; 2: geometry_payload_v2( ) (E.2.4), spec
1.2, in streams for which compact_tools( sh ) holds (the Compact profile). In a Main-profile
stream 2 stays reserved, as in version 1.1: a 1.1 decoder's generator reports such a key frame
(7.4.3), so a Main stream that used it would not be synthesised by 1.1 decoders. Reserved
values are never a parsing error (clauses 8.2 to 8.5 do not read the geometry bytes).
"""
from __future__ import annotations

import numpy as np

from . import geometry_payload as v1
from . import geometry_payload_v2 as v2
from .profiles import compact_tools
from .structures import SequenceHeader

GEOMETRY_VERSION_NONE = v1.GEOMETRY_VERSION_NONE
GEOMETRY_VERSION_V1 = v1.GEOMETRY_VERSION_V1
GEOMETRY_VERSION_V2 = v2.GEOMETRY_VERSION_V2


def geometry_versions(sh: SequenceHeader) -> tuple[int, ...]:
    """The kf_geometry_version values with a defined payload in this stream (7.4.3, E.2)."""
    if compact_tools(sh):
        return GEOMETRY_VERSION_NONE, GEOMETRY_VERSION_V1, GEOMETRY_VERSION_V2
    return GEOMETRY_VERSION_NONE, GEOMETRY_VERSION_V1


def check_geometry_version(sh: SequenceHeader, version: int) -> None:
    """ValueError naming kf_geometry_version when the stream's profile does not define it
    (what a generator reports for a reserved value, 7.4.3)."""
    allowed = geometry_versions(sh)
    if version not in allowed:
        extra = " (2 needs the Compact profile)" if version == GEOMETRY_VERSION_V2 else ""
        raise ValueError(f"kf_geometry_version {version} is reserved in this stream{extra}; "
                         f"defined: {', '.join(map(str, allowed))}")


def decode_key_geometry(version: int, data: bytes, *, width: int, height: int,
                        ref_values: np.ndarray) -> v1.KeyGeometry:
    """The key geometry of a payload of a defined version (E.2.3, E.2.7); version 0: the posed
    canonical face. BitstreamError when a payload is malformed; ValueError for another version."""
    if version == GEOMETRY_VERSION_V1:
        return v1.decode(data, width=width, height=height, ref_values=ref_values)
    if version == GEOMETRY_VERSION_V2:
        return v2.decode_v2(data, width=width, height=height, ref_values=ref_values)
    if version == GEOMETRY_VERSION_NONE:
        return v1.canonical_geometry(ref_values, width, height)
    raise ValueError(f"kf_geometry_version {version} is not supported (supported: "
                     f"{GEOMETRY_VERSION_NONE}, {GEOMETRY_VERSION_V1}, {GEOMETRY_VERSION_V2})")
