"""Would sharpening lower DISTS? Unsharp masking (Gaussian sigma 1.0, amounts 0 to 1) of a
campaign's decoded g7c pictures at one QP, scored on the campaign's strided frames (every 10th
from frame 5): PSNR-RGB, LPIPS-Alex, LPIPS-VGG, DISTS.

    OMP_NUM_THREADS=1 python docs/results/correction_elements_2026-12-06/sharpen_experiment.py work/camp_cg_train 32 \
        fomm_demo_old_00 liveportrait_driving_d5 liveportrait_driving_d6 liveportrait_driving_d11 \
        liveportrait_driving_d14 pcavs_Audio_Source_681100216 pcavs_Input_00002 videoretalking_face_1
"""
import sys, numpy as np, cv2
from pathlib import Path
from bitstream.raw_video import read_rgb444
from conformance.campaign.cells import strided_indices
from conformance.metrics.aggregate import frame_scores_many
from conformance.metrics.psnr import psnr_from_mse
camp = Path(sys.argv[1]); qp = int(sys.argv[2]); clips = sys.argv[3:]
amounts = [0.0, 0.3, 0.6, 1.0]
rows = []
for clip in clips:
    dec = read_rgb444(camp / 'cells' / 'g7c' / clip / f'{clip}_g7c_qp{qp}.rgb', 256, 256, 100)
    idx = strided_indices(len(dec), 10)
    src = read_rgb444(Path('work/sequences') / f'{clip}_256x256_25_8bit_444.rgb', 256, 256, len(dec))[idx]
    versions = []
    for a in amounts:
        out = []
        for k in idx:
            f = dec[k].astype(np.float32)
            blur = cv2.GaussianBlur(f, (0, 0), 1.0)
            out.append(np.clip(np.rint(f + a * (f - blur)), 0, 255).astype(np.uint8))
        versions.append(np.stack(out))
    sc = frame_scores_many(src, versions, ['lpips_alex', 'lpips_vgg', 'dists'])
    for a, v, s in zip(amounts, versions, sc):
        mse = ((v.astype(np.float64) - src) ** 2).reshape(len(idx), -1).mean(1)
        rows.append((clip, a, float(np.mean([psnr_from_mse(m) for m in mse])), *(float(s[m].mean()) for m in ('lpips_alex', 'lpips_vgg', 'dists'))))
import pandas as pd
df = pd.DataFrame(rows, columns=['clip', 'amount', 'psnr', 'alex', 'vgg', 'dists'])
print(df.groupby('amount')[['psnr', 'alex', 'vgg', 'dists']].mean().round(4))
