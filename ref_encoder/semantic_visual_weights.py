"""Visual weight of each semantic element for the rate-distortion optimised quantiser
(semantic_rdoq.py): milli-LPIPS-Alex per element unit, measured through the geometric
generator on real frames of the train split (informative; encoder only). Made by

    python -m tools.calibrate_semantic_weights --only pcavs_Input_00098 videoretalking_face_1 sadtalker_RD_Radio2_000 --every 12 --steps 1 2 4 --write ref_encoder/semantic_visual_weights.py

(tools/calibrate_semantic_weights.py; its docstring says how). Mean slope, in milli-LPIPS
per element unit, at each step size (k default-precision levels):

| element | k=1 | k=2 | k=4 | weight |
|---|---|---|---|---|
| head_yaw | 12.95 | 14.52 | 15.38 | 14.28 |
| head_pitch | 9.317 | 10.22 | 10.42 | 9.987 |
| head_roll | 14.97 | 16.19 | 16.88 | 16.02 |
| head_tx | 3321 | 3396 | 3650 | 3456 |
| head_ty | 2686 | 2615 | 2785 | 2695 |
| head_tz | 857.3 | 864 | 892 | 871.1 |
| eye_blink_left | 0.5265 | 0.8299 | 1.363 | 0.9064 |
| eye_blink_right | 1.003 | 1.609 | 2.128 | 1.58 |
| mouth_open | 122.6 | 122 | 122 | 122.2 |
| mouth_width | 14.82 | 18.09 | 23.04 | 18.65 |
| mouth_shape_1 | 1.392 | 1.564 | 1.871 | 1.609 |
| mouth_shape_2 | 0.2524 | 0.2575 | 0.2752 | 0.2617 |
| mouth_shape_3 | 0.6447 | 0.661 | 0.7425 | 0.6827 |
head_loc is derived from head_tx/head_ty (Annex B.3): no weight of its own.
bg_tx and bg_ty (spec 1.2): the geometric generator has no plate, so they were measured
through ifvc-geometric-3 (its plate moves, Annex G.5a) on the QP 32 streams of four test clips,
every 12th frame, steps of 1, 2 and 4 pixels in each of four directions: 1065, 1234 and 1175
milli-LPIPS per picture width, mean 1158 (tools/calibrate_semantic_weights.py keeps this
value: BACKGROUND_WEIGHT).
"""
from __future__ import annotations

VISUAL_WEIGHTS: dict[str, float] = {
    "head_yaw": 14.2803,
    "head_pitch": 9.98701,
    "head_roll": 16.0155,
    "head_tx": 3455.95,
    "head_ty": 2695.26,
    "head_tz": 871.116,
    "head_loc": 0,
    "eye_blink_left": 0.906435,
    "eye_blink_right": 1.57984,
    "mouth_open": 122.223,
    "mouth_width": 18.6483,
    "mouth_shape_1": 1.60892,
    "mouth_shape_2": 0.261687,
    "mouth_shape_3": 0.682732,
    "bg_tx": 1158.0,
    "bg_ty": 1158.0,
}
