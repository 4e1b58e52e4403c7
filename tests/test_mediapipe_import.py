"""ref_encoder/analysis/mediapipe_import.py: the face mesh imported alone finds the same landmarks
as after the plain ``import mediapipe``, leaves matplotlib unimported, and falls back to the
plain import where the package is laid out otherwise. Each case runs in a fresh interpreter,
since an import cannot be undone in this one."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
STREAM = ROOT / "conformance" / "streams" / "face_head_move_geometric10_cabac.ifvc"

# prints {"matplotlib": imported?, "points": the landmarks} of the picture in argv[1] (.npy)
PROBE = """
import json, sys
import numpy as np
{before}
from ref_encoder.analysis.landmarks import LandmarkDetector
faces = LandmarkDetector(static_image_mode=True).detect(np.load(sys.argv[1]))
print(json.dumps({{"matplotlib": "matplotlib" in sys.modules, "points": [f.tolist() for f in faces]}}))
"""


def _probe(picture: Path, before: str = "") -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE.format(before=before), str(picture)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def picture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A decoded face picture (the conformance stream's key frame)."""
    from ref_decoder.decoder import Decoder
    path = tmp_path_factory.mktemp("face") / "key.npy"
    np.save(path, next(iter(Decoder().decode(STREAM.read_bytes()))).rgb)
    return path


def test_the_face_mesh_alone_finds_the_plain_imports_landmarks_without_matplotlib(picture: Path) -> None:
    alone = _probe(picture)
    plain = _probe(picture, before="import mediapipe")   # imported already: the plain import
    assert len(alone["points"]) == 1 and len(alone["points"][0]) == 478
    assert alone["points"] == plain["points"]
    assert not alone["matplotlib"] and plain["matplotlib"]


def test_another_layout_takes_the_plain_import(picture: Path) -> None:
    """Where the installed package is not laid out as expected (_bare_layout None), the
    package's own __init__ runs (matplotlib comes with it) and the landmarks are the same."""
    other = _probe(picture, before="import ref_encoder.analysis.mediapipe_import as m\nm._bare_layout = lambda: None")
    assert other["matplotlib"] and other["points"] == _probe(picture)["points"]


def test_the_layout_is_found_on_the_installed_package() -> None:
    """This environment's MediaPipe is laid out as the bare import expects (else the encoder
    loses the start-up it saves, silently)."""
    from ref_encoder.analysis.mediapipe_import import _bare_layout
    layout = _bare_layout()
    assert layout is not None and [s.name for s in layout] == ["mediapipe", "mediapipe.python.solutions"]
