"""Facial semantic analysis (informative, spec Annex B): landmarks -> the 14 semantic elements.

    from ref_encoder.analysis import FaceAnalyzer, analyze_sequence
    with FaceAnalyzer() as fa:
        frame = fa.analyze_frame(rgb)          # FrameAnalysis: semantics (14,), landmarks (478, 3)
    values, report = analyze_sequence(frames, smoothing="one_euro")
"""
from .analyzer import (DEFAULT_ONE_EURO, FaceAnalyzer, FrameAnalysis, NoFaceError, SequenceReport,
                       analyze_sequence, apply_smoothing)
from .semantics import ELEMENT_NAMES, NUM_ELEMENTS

__all__ = ["DEFAULT_ONE_EURO", "ELEMENT_NAMES", "FaceAnalyzer", "FrameAnalysis", "NUM_ELEMENTS", "NoFaceError",
           "SequenceReport", "analyze_sequence", "apply_smoothing"]
