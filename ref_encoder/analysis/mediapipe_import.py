"""MediaPipe's legacy solutions, imported one at a time (informative; the encoder's start-up).

``import mediapipe`` runs the package's __init__, which imports every solution and the Tasks
API, and with mediapipe.python.solutions.drawing_utils also matplotlib.pyplot: 0.4-0.7 s of the
encoder's start-up on 2 cores, of which the face mesh and the face detector need 0.1 s
(docs/results/encoder_startup_2026-12-07). solution(name) imports only
mediapipe.python.solutions.<name>: where nothing has imported ``mediapipe`` yet, the two
package modules whose __init__ pull in the rest (``mediapipe`` and
``mediapipe.python.solutions``) are entered as bare packages over their own folders, so their
submodules import from the same files as always and run the same graphs. Where ``mediapipe``
is already imported, or the installed package is laid out otherwise (checked on its folders
before anything is imported), it is the plain import.

Code in the same process that wants the package's top-level names (``mediapipe.Image``,
``mediapipe.solutions``, ``mediapipe.tasks``) imports the submodule itself
(``from mediapipe.python.solutions import selfie_segmentation``), as this project's tools do.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from importlib.machinery import ModuleSpec
from pathlib import Path


def _bare_layout() -> list[ModuleSpec] | None:
    """The specs of ``mediapipe`` and ``mediapipe.python.solutions`` (found without running
    either __init__), or None where the installed package is not laid out so."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "python" / "solutions"
    if not (folder / "__init__.py").is_file():
        return None
    solutions = importlib.util.spec_from_file_location("mediapipe.python.solutions", folder / "__init__.py",
                                                       submodule_search_locations=[str(folder)])
    return None if solutions is None else [spec, solutions]


def _enter_bare_package(spec: ModuleSpec) -> None:
    """sys.modules[spec.name]: a package module over its folder whose __init__ is not run."""
    module = importlib.util.module_from_spec(spec)     # made, not executed
    sys.modules[spec.name] = module
    parent, _, child = spec.name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)


def solution(name: str) -> types.ModuleType:
    """mediapipe.python.solutions.<name> (e.g. "face_mesh"), without the rest of MediaPipe's
    solutions where this process has not imported ``mediapipe`` yet."""
    if "mediapipe" not in sys.modules:
        layout = _bare_layout()
        if layout is not None:             # else the plain import below runs the package's __init__
            package, solutions = layout
            _enter_bare_package(package)
            importlib.import_module("mediapipe.python")   # the framework bindings, as always
            _enter_bare_package(solutions)
    return importlib.import_module(f"mediapipe.python.solutions.{name}")
