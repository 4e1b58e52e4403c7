"""Time of the two shipped KeyRestoreNets on one 256 x 256 picture (numpy, 2 cores), alternating, 3 rounds after a warm-up:

    python docs/results/texture_restore_2026-12-07/bench_network.py
"""
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
import time, numpy as np
from ifvc_synthesis.generators import geometric_9 as g9m, geometric_10 as g10m
from ifvc_synthesis.generators.key_restore import load_network, restore_key_picture
from bitstream.generator_registry import GENERATOR_BY_NAME as G
from tests.test_layered_generator import textured_picture
pic = textured_picture(256, 256)
nets = {n: load_network(m.WEIGHTS, G[n].weights_sha256.hex()) for n, m in (("ifvc-geometric-9", g9m), ("ifvc-geometric-10", g10m))}
for n, net in nets.items(): restore_key_picture(net, pic, 12000)
for r in range(3):
    for n, net in nets.items():
        t = time.perf_counter(); restore_key_picture(net, pic, 12000); print(r, n, f"{time.perf_counter() - t:.3f} s")
