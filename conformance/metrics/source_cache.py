"""In-process cache of source-frame backbone features, shared by many comparisons.

In a campaign each source frame is compared with every codec x rate point; its backbone
features (half the work of an LPIPS or DISTS pair) are the same every time. The cache keeps
them keyed by what they depend on: SHA-256 of the source frames, metric, SHA-256 of the
weights and SOURCE_FEATURES_VERSION (bump it when the feature computation changes).

Why in memory and bounded, not on disk: the float32 features of one 256x256 frame are
30.4 MB for VGG16 (LPIPS-vgg; DISTS adds its input tap, 31.2 MB) and 2.5 MB for AlexNet, i.e.
7.6 GB per VGG metric for a 250-frame sequence; float16 would break the 1e-6 agreement.
Writing and re-reading that costs more disk than the campaign itself and buys little over
recomputing. So the cache holds at most ``max_bytes``; when full it drops whole older source
sequences first and otherwise stops storing, so a sequence scanned again in frame order
finds its first frames (the ones that fit) instead of thrashing. Memory does not grow with
sequence length. For full reuse at any length, score all decoded versions of a sequence in
one streaming pass (pairwise.score_frames with several distorted sequences).
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np
import torch

# Bump when the source features of a metric change for the same frames and weights.
SOURCE_FEATURES_VERSION = 1


def frames_sha256(frames: np.ndarray) -> str:
    """SHA-256 of a uint8 N x H x W x 3 array, its shape included."""
    h = hashlib.sha256(repr(tuple(frames.shape)).encode())
    h.update(np.ascontiguousarray(frames).data)
    return h.hexdigest()


def source_key(metric: str, weights_sha256: str, device: torch.device, frames: np.ndarray) -> str:
    """Everything the source features of ``frames`` depend on, as one SHA-256."""
    basis = f"{metric}|{weights_sha256}|v{SOURCE_FEATURES_VERSION}|{device.type}|{frames_sha256(frames)}"
    return hashlib.sha256(basis.encode()).hexdigest()


def features_nbytes(features: object) -> int:
    """Bytes held by the tensors of a (nested list / tuple of) tensor features."""
    if torch.is_tensor(features):
        return features.element_size() * features.nelement()
    if isinstance(features, (list, tuple)):
        return sum(features_nbytes(item) for item in features)
    raise TypeError(f"unexpected source feature type {type(features).__name__}")


class SourceFeatureCache:
    """Source features grouped by source sequence, at most ``max_bytes`` in all."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self._sequences: OrderedDict[str, dict[str, tuple[object, int]]] = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, sequence: str, key: str) -> object | None:
        entry = self._sequences.get(sequence, {}).get(key)
        if entry is None:
            self.misses += 1
            return None
        self._sequences.move_to_end(sequence)
        self.hits += 1
        return entry[0]

    def put(self, sequence: str, key: str, features: object) -> bool:
        """Store when it fits (after dropping older sequences); False when not stored."""
        nbytes = features_nbytes(features)
        entries = self._sequences.setdefault(sequence, {})
        self._sequences.move_to_end(sequence)
        if key in entries:
            return True
        while self.bytes + nbytes > self.max_bytes and len(self._sequences) > 1:
            oldest = next(iter(self._sequences))
            if oldest == sequence:
                break
            self._drop(oldest)
        if self.bytes + nbytes > self.max_bytes:
            return False
        entries[key] = (features, nbytes)
        self.bytes += nbytes
        return True

    def _drop(self, sequence: str) -> None:
        self.bytes -= sum(nbytes for _, nbytes in self._sequences.pop(sequence).values())

    def clear(self) -> None:
        self._sequences.clear()
        self.bytes = 0

    def sequences(self) -> Iterable[str]:
        return tuple(self._sequences)
