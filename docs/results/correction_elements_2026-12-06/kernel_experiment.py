"""The correction stage's kernel: bilinear (clause 8.6.2) against a bicubic clamped to the 3x3
neighbourhood's range, on the g7c streams of a campaign at one QP, with the levels the encoder
chose (for bilinear). Scored on the campaign's strided frames (every 10th from frame 5):
PSNR-RGB, LPIPS-Alex, LPIPS-VGG, DISTS; "none" is the generator's picture uncorrected.

    OMP_NUM_THREADS=1 python docs/results/correction_elements_2026-12-06/kernel_experiment.py work/camp_cg_train 32 \
        fomm_demo_old_00 liveportrait_driving_d5 liveportrait_driving_d6 liveportrait_driving_d11 \
        liveportrait_driving_d14 pcavs_Audio_Source_681100216 pcavs_Input_00002 videoretalking_face_1
"""
import sys, numpy as np, cv2
from pathlib import Path
import ref_decoder.decoder as rd
from ref_decoder.decoder import Decoder
from bitstream.raw_video import read_rgb444
from conformance.campaign.cells import strided_indices
from conformance.metrics.aggregate import frame_scores_many
from conformance.metrics.psnr import psnr_from_mse
from ifvc_synthesis.correction_grid import CorrectionLayout, dense_field, sample_grid

def bicubic(picture, disp):
    gx, gy = sample_grid(*picture.shape[:2])
    mx, my = gx + disp[..., 0], gy + disp[..., 1]
    f = picture.astype(np.float32)
    out = cv2.remap(f, mx, my, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    # clamped to the range of the 3x3 neighbourhood of the nearest sample (no overshoot)
    lo_s = cv2.remap(cv2.erode(f, np.ones((3, 3), np.uint8)), mx, my, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
    hi_s = cv2.remap(cv2.dilate(f, np.ones((3, 3), np.uint8)), mx, my, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
    return np.clip(np.rint(np.clip(out, lo_s, hi_s)), 0, 255).astype(np.uint8)

camp = Path(sys.argv[1]); qp = int(sys.argv[2]); clips = sys.argv[3:]
orig = rd.apply_correction
rows = []
for clip in clips:
    data = (camp / 'cells' / 'g7c' / clip / f'{clip}_g7c_qp{qp}.ifvc').read_bytes()
    rd.apply_correction = lambda rgb, layout, levels: rgb
    dec = Decoder(); plain = list(dec.decode(data)); rd.apply_correction = orig
    layout = CorrectionLayout(dec.sh)
    idx = strided_indices(len(plain), 10)
    src = read_rgb444(Path('work/sequences') / f'{clip}_256x256_25_8bit_444.rgb', 256, 256, len(plain))[idx]
    versions = {'none': [], 'bilinear': [], 'bicubic': []}
    for k in idx:
        f = plain[k]
        versions['none'].append(f.rgb)
        if f.kind == 'key':
            versions['bilinear'].append(f.rgb); versions['bicubic'].append(f.rgb); continue
        d = dense_field(layout.displacement(f.levels), 256, 256)
        versions['bilinear'].append(orig(f.rgb, layout, f.levels))
        versions['bicubic'].append(bicubic(f.rgb, d) if np.any(d) else f.rgb)
    names = list(versions)
    sc = frame_scores_many(src, [np.stack(versions[n]) for n in names], ['lpips_alex', 'lpips_vgg', 'dists'])
    for n, s in zip(names, sc):
        mse = ((np.stack(versions[n]).astype(np.float64) - src) ** 2).reshape(len(idx), -1).mean(1)
        rows.append((clip, n, float(np.mean([psnr_from_mse(m) for m in mse])), *(float(s[m].mean()) for m in ('lpips_alex', 'lpips_vgg', 'dists'))))
        print(*rows[-1], flush=True)
import pandas as pd
df = pd.DataFrame(rows, columns=['clip', 'version', 'psnr', 'alex', 'vgg', 'dists'])
print(df.groupby('version')[['psnr', 'alex', 'vgg', 'dists']].mean().round(4))
