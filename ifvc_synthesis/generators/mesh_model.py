"""The 3D face mesh of ifvc-geometric-3 (spec Annex H.2, informative): the canonical face
mesh fitted to the key frame's decoded landmark subset, plus a head shell around it.

- The 468 mesh vertices: the canonical face (bitstream/data/canonical_face.json) plus the
  model-space residual of the landmark subset (geometry payload, Annex E.2) interpolated to
  every vertex with fixed Gaussian weights over its SHELL_NEIGHBOURS nearest subset vertices
  (subset vertices take their own residual). The same weights carry the target expression
  (IDI's target_model, Annex E.3.2) to the whole mesh, so the vertices of the subset land
  exactly where IDI puts them.
- The head shell (hair, ears, forehead above the mesh, the jaw's edge): SHELL_RINGS rings of
  vertices around the mesh boundary (the face oval), the oval scaled about its centre in model
  x, y and pushed back in z, joined to the oval and to each other by quad strips. The shell
  moves rigidly with the head; its vertices below the mouth fade out (the neck and body are
  the layered generator's, Annex G).
- The mirror map: the model is symmetric (tools/extract_face_mesh.py), and the shell rings
  follow the oval's mirror map.

Triangles are the canonical mesh's 898 (ifvc_synthesis/generators/data/canonical_face_mesh.json,
MediaPipe, Apache-2.0) and the shell's. No BLAS: the interpolation is a gather and sums of a
fixed small width (bitstream/fixed_order.py discipline).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bitstream.canonical_face import CanonicalFace, HeadPose, load_canonical_face, model_to_pixels
from bitstream.geometry_payload import GP_LANDMARK_IDS

from ..idi import CONTOUR_IDS, MOUTH_CORNERS, _idx

DATA_FILE = Path(__file__).with_name("data") / "canonical_face_mesh.json"
NUM_MESH_VERTICES = 468
INNER_UPPER_LIP = (191, 80, 81, 82, 13, 312, 311, 310, 415)
INNER_LOWER_LIP = (95, 88, 178, 87, 14, 317, 402, 318, 324)
INNER_LIP_CORNERS = (78, 308)

RESIDUAL_NEIGHBOURS = 8      # subset vertices that carry their residual to a mesh vertex
RESIDUAL_SIGMA_CM = 1.5      # Gaussian width of that interpolation (model space)
# shell rings: (scale of the oval about its centre in model x, y; depth behind the oval in cm;
# opacity before the person mask)
SHELL_RINGS = ((1.3, 4.0, 1.0), (1.65, 8.7, 1.0), (2.0, 12.0, 0.0))
SHELL_FADE = 0.5             # below the mouth the shell fades out over this share of the face width


@dataclass(frozen=True)
class FaceMeshTopology:
    triangles: np.ndarray     # (898, 3) int64, vertex ids 0..467
    symmetry: np.ndarray      # (468,) mirror vertex of each vertex
    front_sign: np.ndarray    # (898,) +1 / -1: the sign of the canonical normal's z (10 folded ones are -1)
    mouth_gap: np.ndarray     # (898,) bool: the 18 triangles across the lips' opening


@lru_cache(maxsize=1)
def load_face_mesh() -> FaceMeshTopology:
    data = json.loads(DATA_FILE.read_text())
    tris = np.asarray(data["triangles"], np.int64)
    sym = np.asarray(data["symmetry"], np.int64)
    v = load_canonical_face().vertices[:NUM_MESH_VERTICES]
    e1, e2 = v[tris[:, 1]] - v[tris[:, 0]], v[tris[:, 2]] - v[tris[:, 0]]
    nz = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    upper, lower = set(INNER_UPPER_LIP), set(INNER_LOWER_LIP)
    ring = upper | lower | set(INNER_LIP_CORNERS)
    gap = np.array([set(t) <= ring and bool(set(t) & upper) and bool(set(t) & lower) for t in tris.tolist()])
    for a in (tris, sym):
        a.setflags(write=False)
    return FaceMeshTopology(tris, sym, np.where(nz >= 0, 1, -1), gap)


def residual_weights(face: CanonicalFace) -> tuple[np.ndarray, np.ndarray]:
    """(468, K) subset rows and (468, K) weights (rows sum to 1) of the residual interpolation."""
    v = face.vertices[:NUM_MESH_VERTICES]
    sub = v[list(GP_LANDMARK_IDS)]
    d2 = ((v[:, None, :] - sub[None, :, :]) ** 2).sum(axis=2)
    nbr = np.argsort(d2, axis=1, kind="stable")[:, :RESIDUAL_NEIGHBOURS]
    w = np.exp(-np.take_along_axis(d2, nbr, axis=1) / (2 * RESIDUAL_SIGMA_CM ** 2))
    w = w / w.sum(axis=1, keepdims=True)
    for k, vid in enumerate(GP_LANDMARK_IDS):     # a subset vertex keeps its own residual
        nbr[vid] = k
        w[vid] = 0.0
        w[vid, 0] = 1.0
    return nbr, w


def oval_loop() -> np.ndarray:
    """The mesh boundary (face oval) in order: the contour ids of IDI (Annex E.3)."""
    return np.asarray(CONTOUR_IDS, np.int64)


class FaceMesh:
    """The key frame's mesh: face (468) + shell vertices, triangles, mirror map and the
    per-vertex attributes the renderer needs (Annex H.2)."""

    def __init__(self, key_subset_model: np.ndarray, key_pose: HeadPose, width: int, height: int) -> None:
        self.face = load_canonical_face()
        self.topology = load_face_mesh()
        self.width, self.height = width, height
        self._canon = self.face.vertices[:NUM_MESH_VERTICES]
        self._canon_subset = self._canon[list(GP_LANDMARK_IDS)]
        self._nbr, self._w = residual_weights(self.face)
        face_key = self.face_vertices(key_subset_model)
        shell, shell_alpha, shell_tris, shell_sym = self._build_shell(face_key)
        n = NUM_MESH_VERTICES
        self.shell_model = shell
        self.triangles = np.vstack([self.topology.triangles, shell_tris])
        self.num_face_triangles = len(self.topology.triangles)
        self.symmetry = np.concatenate([self.topology.symmetry, shell_sym])
        self.alpha = np.concatenate([np.ones(n), shell_alpha])            # layer opacity per vertex
        self.is_shell = np.concatenate([np.zeros(n), np.ones(len(shell))])
        self.mouth_gap = np.concatenate([self.topology.mouth_gap, np.zeros(len(shell_tris), bool)])
        key = self.project(face_key, key_pose)
        self.key_uv = key[:, :2].copy()
        self.key_depth = key[:, 2].copy()
        self.key_facing = self.vertex_facing(key)

    # -- model space ------------------------------------------------------------------------------
    def face_vertices(self, subset_model: np.ndarray) -> np.ndarray:
        """(468, 3) model-space mesh vertices for a subset (NUM_GP_LANDMARKS, 3) in model space."""
        r = np.asarray(subset_model, np.float64) - self._canon_subset
        g = r[self._nbr]                                   # (468, K, 3)
        acc = np.zeros((NUM_MESH_VERTICES, 3))
        for k in range(RESIDUAL_NEIGHBOURS):               # fixed order, no BLAS
            acc += self._w[:, k:k + 1] * g[:, k]
        return self._canon + acc

    def _build_shell(self, face_key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        oval = oval_loop()
        n_oval = len(oval)
        c = face_key[oval]
        centre = c.mean(axis=0)
        y_mouth = float(face_key[list(MOUTH_CORNERS), 1].mean())
        F = self.face.face_width
        rings, alphas = [], []
        for scale, back, opacity in SHELL_RINGS:
            r = c.copy()
            r[:, :2] = centre[:2] + (c[:, :2] - centre[:2]) * scale
            r[:, 2] = c[:, 2] - back
            # below the mouth the shell fades: the neck is the body layer's (Annex G)
            fade = np.clip((r[:, 1] - (y_mouth - SHELL_FADE * F)) / (SHELL_FADE * F), 0.0, 1.0)
            rings.append(r)
            alphas.append(opacity * fade)
        shell = np.vstack(rings)
        n = NUM_MESH_VERTICES
        # vertex index of ring k's j-th point; ring -1 is the oval itself
        def vid(k: int, j: int) -> int:
            j %= n_oval
            return int(oval[j]) if k < 0 else n + k * n_oval + j
        tris = []
        for k in range(-1, len(SHELL_RINGS) - 1):
            for j in range(n_oval):
                a, b, c2, d = vid(k, j), vid(k, j + 1), vid(k + 1, j), vid(k + 1, j + 1)
                tris += [(a, c2, b), (b, c2, d)]
        tris_a = np.array(tris, np.int64)
        # orient every shell triangle to face the front in model space (normal z >= 0)
        allv = np.vstack([face_key, shell])
        e1 = allv[tris_a[:, 1]] - allv[tris_a[:, 0]]
        e2 = allv[tris_a[:, 2]] - allv[tris_a[:, 0]]
        back = (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) < 0
        tris_a[back] = tris_a[back][:, [0, 2, 1]]
        # the mirror of ring k's j-th point is ring k's point at the oval's mirror vertex
        pos = {int(v): j for j, v in enumerate(oval)}
        mirror_j = np.array([pos[int(self.topology.symmetry[v])] for v in oval], np.int64)
        sym = np.concatenate([n + k * n_oval + mirror_j for k in range(len(SHELL_RINGS))])
        return shell, np.concatenate(alphas), tris_a, sym

    # -- projection ------------------------------------------------------------------------------
    def all_vertices(self, face_model: np.ndarray) -> np.ndarray:
        return np.vstack([face_model, self.shell_model])

    def project(self, face_model: np.ndarray, pose: HeadPose) -> np.ndarray:
        """(V, 3): pixels u, v and depth in pixels (towards the viewer) of face + shell."""
        p = model_to_pixels(self.all_vertices(face_model), pose, self.width, self.face)
        p[:, 2] *= self.width
        return p

    def vertex_facing(self, projected: np.ndarray) -> np.ndarray:
        """(V,) z of the unit vertex normals (area-weighted sums of the adjacent triangles'
        normals, oriented to the front of the canonical face): 1 faces the camera, < 0 away."""
        u, v, z = projected[:, 0], -projected[:, 1], projected[:, 2]     # y up
        t = self.triangles
        e1 = np.stack([u[t[:, 1]] - u[t[:, 0]], v[t[:, 1]] - v[t[:, 0]], z[t[:, 1]] - z[t[:, 0]]], axis=1)
        e2 = np.stack([u[t[:, 2]] - u[t[:, 0]], v[t[:, 2]] - v[t[:, 0]], z[t[:, 2]] - z[t[:, 0]]], axis=1)
        nrm = np.stack([e1[:, 1] * e2[:, 2] - e1[:, 2] * e2[:, 1],
                        e1[:, 2] * e2[:, 0] - e1[:, 0] * e2[:, 2],
                        e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]], axis=1)
        nrm *= self.triangle_front_sign[:, None]
        acc = np.zeros((len(projected), 3))
        for j in range(3):                                 # fixed order (add.at is sequential)
            np.add.at(acc, t[:, j], nrm)
        length = np.sqrt(acc[:, 0] ** 2 + acc[:, 1] ** 2 + acc[:, 2] ** 2)
        return np.where(length > 0, acc[:, 2] / np.maximum(length, 1e-12), 0.0)

    @property
    def triangle_front_sign(self) -> np.ndarray:
        n_shell = len(self.triangles) - self.num_face_triangles
        return np.concatenate([self.topology.front_sign, np.ones(n_shell, np.int64)])
