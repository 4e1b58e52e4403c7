"""The mesh generator "ifvc-geometric-3" (spec Annex H, informative): ifvc-geometric-2's
layers (Annex G: still background plate, moving person) with the head rendered as a 3D mesh.

Per key frame (Annex H.2): the canonical face mesh fitted to the decoded landmark subset
(mesh_model.py), a head shell around it, the key-frame position (texture coordinate) of every
vertex, and how well the key frame shows it (its normal's facing, and whether the key-frame
z-buffer finds it hidden behind a nearer part of the face).

Per frame (Annex H.4):
1. the base picture: ifvc-geometric-2's output for the target values (Annex G);
2. the mesh posed to the target (IDI's expression in model space, Annex E.3.2, carried to all
   vertices; the target pose), rasterised with the integer z-buffer (mesh_render.py);
3. the texture: the key frame sampled at the barycentric interpolation of the visible
   triangle's texture coordinates (bilinear, border replicate); where the key frame shows a
   vertex much worse than the target does (a far cheek after a turn) and shows its mirror
   vertex better, the mirrored texture coordinates (mirror map) are blended in;
4. the layer opacity: 1 on the face, on the shell the shell's vertex opacity times the key
   frame's person alpha (Annex G.3) at the texture position, so key-frame background never
   moves with the head; output = base + opacity * (mesh - base);
5. the mouth interior and closed eyelids (mesh_features.py, Annex H.5).
Deterministic: visibility is decided in integers, everything else is elementwise float64 or
OpenCV remap / blur in a fixed order; no BLAS.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from bitstream.canonical_face import pose_from_values
from bitstream.generator_registry import GENERATOR_BY_NAME

from ..idi import TargetGeometry
from ..key_sampling import KeySampler, blur_margin, support_box
from .layered import LayeredGenerator
from .mesh_features import GEOMETRIC_3_LIDS, GEOMETRIC_3_MOUTH, LidStyle, MouthAndEyes, MouthStyle
from .mesh_model import FaceMesh
from .mesh_render import interpolate, rasterize
from .registry import builtin_generator

NAME = "ifvc-geometric-3"
OCCLUSION_TOLERANCE_PX = 2.0   # a vertex this far behind the key frame's z-buffer is hidden in it
MIRROR_START, MIRROR_FULL = 0.6, 0.2   # own quality (key facing / target facing) where mirroring starts / is full
MIRROR_MARGIN = 0.3            # the mirror vertex must be shown this much better
FACING_EPS = 0.1               # added to both facings of the quality ratio (edge-on vertices compare as equal)
EDGE_SIGMA = 0.6               # anti-aliasing of the layer's opacity (pixels)


def _clip01(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, 1.0)


@dataclass
class MeshLayers:
    """What one frame's picture was composited from (Annex H.4 steps 1 and 4): the person
    layer's alpha (Annex G.5), the head mesh's opacity, the pixels a mesh triangle covers and
    there the mesh's texture coordinates (HxW float32 each, covered bool). ifvc-flow-2
    (Annex I.8) reads them."""
    person_alpha: np.ndarray
    mesh_opacity: np.ndarray
    mesh_covered: np.ndarray
    texture_x: np.ndarray
    texture_y: np.ndarray
    plate_shift: tuple[float, float] = (0.0, 0.0)     # the background shift (dx, dy), pixels

    def coverage(self) -> np.ndarray:
        """How much of each pixel the moving person covers: max(person alpha, mesh opacity)."""
        return np.maximum(self.person_alpha, self.mesh_opacity)

    def backward_map(self, map_x: np.ndarray, map_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The composite's key-frame position per pixel, float32, in the picture's own order:
        the plate samples its own position less the background shift (plate_shift, Annex
        G.5a), the person layer IDI's (map_x, map_y) with its alpha, the mesh its texture
        coordinates with its opacity."""
        h, w = map_x.shape
        dx, dy = self.plate_shift
        ident_x = np.broadcast_to(np.arange(w, dtype=np.float32)[None, :] - np.float32(dx), (h, w))
        ident_y = np.broadcast_to(np.arange(h, dtype=np.float32)[:, None] - np.float32(dy), (h, w))
        a, o = self.person_alpha, self.mesh_opacity
        bx = ident_x + a * (map_x - ident_x)
        by = ident_y + a * (map_y - ident_y)
        covered = self.mesh_covered      # texture coordinates exist only there
        fx = np.where(covered, bx + o * (self.texture_x - bx), bx)
        fy = np.where(covered, by + o * (self.texture_y - by), by)
        return fx.astype(np.float32), fy.astype(np.float32)


@builtin_generator(NAME)
class MeshGenerator(LayeredGenerator):
    """Generator protocol (base.py): geometric-2's layers, the head as a z-buffered mesh."""

    name = NAME
    weights_sha256 = GENERATOR_BY_NAME[NAME].weights_sha256      # all zero: no weights
    texture_sampling: int = cv2.INTER_LINEAR     # the mesh's and H.5's texture (Annex H.8: clamped bicubic)
    lids: LidStyle = GEOMETRIC_3_LIDS            # how H.5's eyelid cover is laid (Annex H.9: as I.11)
    mouth: MouthStyle = GEOMETRIC_3_MOUTH        # how H.5's mouth interior is toned (Annex H.10)

    def set_keyframe(self, key_rgb: np.ndarray, key_values: np.ndarray, geometry: bytes,
                     geometry_version: int) -> None:
        super().set_keyframe(key_rgb, key_values, geometry, geometry_version)
        m = self.model
        assert m is not None and self.key_rgb is not None
        h, w = self.key_rgb.shape[:2]
        self.mesh = FaceMesh(m.model, m.key_pose, w, h)
        self._key_visible = self._visible_in_key()
        self._texture_sampler = KeySampler(self._key_float, self.texture_sampling)
        self.features = MouthAndEyes(self.key_rgb, m.key_landmarks, self._texture_sampler)

    def _visible_in_key(self) -> np.ndarray:
        """(V,) key-frame facing of each vertex, 0 where the key frame's own z-buffer hides it."""
        mesh = self.mesh
        r = rasterize(mesh.key_uv, mesh.key_depth, mesh.triangles, mesh.width, mesh.height)
        return np.where(self._hidden(r.depth, mesh.key_uv, mesh.key_depth), 0.0, np.maximum(mesh.key_facing, 0.0))

    @staticmethod
    def _hidden(zbuf: np.ndarray, uv: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """(V,) True where the z-buffer at a vertex's nearest pixel is OCCLUSION_TOLERANCE_PX
        nearer than the vertex (vertices outside the picture are never hidden)."""
        h, w = zbuf.shape
        xi = np.floor(uv[:, 0] + 0.5).astype(np.int64)
        yi = np.floor(uv[:, 1] + 0.5).astype(np.int64)
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        z = np.full(len(xi), -np.inf)
        z[inside] = zbuf[yi[inside], xi[inside]]
        return z - depth > OCCLUSION_TOLERANCE_PX

    def mirror_share(self, target_facing: np.ndarray, target_hidden: np.ndarray | None = None) -> np.ndarray:
        """(V,) share of the mirrored texture per vertex (Annex H.4 step 3): where the key frame
        shows a vertex (facing, 0 if hidden) much worse than the target does and its mirror
        vertex better; none where the target hides the vertex."""
        ft = np.maximum(target_facing, 0.0) + FACING_EPS
        own = (self._key_visible + FACING_EPS) / ft
        mirror = (self._key_visible[self.mesh.symmetry] + FACING_EPS) / ft
        need = _clip01((MIRROR_START - own) / (MIRROR_START - MIRROR_FULL))
        better = _clip01((mirror - own) / MIRROR_MARGIN)
        share = need * better
        return share if target_hidden is None else np.where(target_hidden, 0.0, share)

    def render_mesh(self, target_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The head layer for the target values: (colour HxWx3 float32, opacity HxW float32);
        colour is 0 beyond the box where the opacity can be above 0."""
        colour, opacity, _, _, _ = self._render_mesh(target_values)
        return colour, opacity

    def _render_mesh(self, target_values: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """render_mesh() with the pixels a triangle covers and there the texture coordinates
        (own_x, own_y: the key-frame position the pixel is sampled from, before mirroring)."""
        m, mesh = self.model, self.mesh
        assert m is not None
        v = self._values(target_values)
        subset, _, _, _ = m.target_model(v)
        pose = pose_from_values(v, mesh.width, mesh.height, mesh.face)
        tgt = mesh.project(mesh.face_vertices(subset), pose)
        raster = rasterize(tgt[:, :2], tgt[:, 2], mesh.triangles, mesh.width, mesh.height)
        share = self.mirror_share(mesh.vertex_facing(tgt), self._hidden(raster.depth, tgt[:, :2], tgt[:, 2]))
        a = interpolate(raster, mesh.triangles, np.column_stack([mesh.key_uv, mesh.alpha, mesh.is_shell]), np.float32)
        covered = raster.covered
        own_x, own_y = np.ascontiguousarray(a[..., 0]), np.ascontiguousarray(a[..., 1])
        # the layer's opacity is 0 beyond the blur's kernel around the covered pixels
        box = support_box(covered, blur_margin(EDGE_SIGMA))
        own = self._texture_sampler.sample(own_x, own_y, box=box)
        colour = own
        if float(share.max()) > 0:          # mirrored coordinates only when some vertex needs them
            m = interpolate(raster, mesh.triangles, np.column_stack([mesh.key_uv[mesh.symmetry], share]), np.float32)
            t = m[..., 2:3]
            if float(t.max()) > 0:
                # only where the share is above 0 (the far cheek) does the mirrored texture count
                mir = self._texture_sampler.sample(np.ascontiguousarray(m[..., 0]), np.ascontiguousarray(m[..., 1]),
                                                   box=support_box(t[..., 0] > 0, 0))
                colour = own + t * (mir - own)
        # shell opacity: the key frame's person alpha where the texture comes from
        person = self.key_alpha_at(own_x, own_y)
        shell = a[..., 3]
        opacity = a[..., 2] * (1.0 - shell + shell * person)
        opacity = np.where(covered, opacity, 0.0).astype(np.float32)
        opacity = cv2.GaussianBlur(opacity, (0, 0), EDGE_SIGMA, borderType=cv2.BORDER_REPLICATE)
        # keep the face itself opaque (the blur only softens the outline)
        opacity = np.where(covered & (shell == 0), 1.0, opacity).astype(np.float32)
        return colour, opacity, covered, own_x, own_y

    def synthesize_with_field(self, target_values: np.ndarray
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, TargetGeometry]:
        image, map_x, map_y, _, tg = self.synthesize_with_layers(target_values)
        return image, map_x, map_y, tg

    def synthesize_with_layers(self, target_values: np.ndarray
                               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, "MeshLayers", TargetGeometry]:
        """synthesize() (the uint8 picture) with IDI's motion field (map_x, map_y), the
        layers it composited (MeshLayers) and the target geometry."""
        base, map_x, map_y, alpha, tg = self._layers(target_values)
        colour, opacity, covered, own_x, own_y = self._render_mesh(target_values)
        out = base + opacity[..., None] * (colour - base)
        self.features.apply(out, tg, self.lids, self.mouth)
        image = np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)
        return image, map_x, map_y, MeshLayers(alpha[..., 0], opacity, covered, own_x, own_y,
                                               self.background_shift(target_values)), tg
