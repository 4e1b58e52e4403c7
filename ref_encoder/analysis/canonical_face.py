"""The canonical 3D face (MediaPipe, Apache-2.0), shared with the decoder.

The data (bitstream/data/canonical_face.json) and its loader live in bitstream/canonical_face.py
(the decoder needs them too, and ref_decoder does not import ref_encoder); this module keeps
the analysis package's original import path. Regenerate the JSON with
tools/extract_canonical_face.py; nothing here reads ../shared.
"""
from __future__ import annotations

from bitstream.canonical_face import (CHEEK_LEFT, CHEEK_RIGHT, DATA_FILE, CanonicalFace,
                                      load_canonical_face)

__all__ = ["CHEEK_LEFT", "CHEEK_RIGHT", "DATA_FILE", "CanonicalFace", "load_canonical_face"]
