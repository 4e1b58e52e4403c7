"""Anchors of the IFVC test conditions: VVC (VVenC), HEVC (x265) and a user's VTM.

Each anchor encodes an 8-bit RGB 4:4:4 planar sequence (converted to YUV 4:2:0, BT.709
limited range), decodes it and converts it back to RGB, so that metrics compare RGB to RGB.
The Python API is :func:`run_anchor`; the command line is ``python -m anchors.run``.
"""
from __future__ import annotations

from anchors.errors import AnchorError
from anchors.runner import AnchorJob, AnchorResult, run_anchor

__all__ = ["AnchorError", "AnchorJob", "AnchorResult", "run_anchor"]
