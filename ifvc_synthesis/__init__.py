"""Synthesis shared by the encoder and the decoder (spec 8.6, Annexes E, F, G; informative):
IDI (idi.py: semantics -> landmarks -> dense motion) and the generators (generators/).

The decoder draws its output frames with it; the encoder runs the same code on its own
decoder-side reconstruction (decoded key frames, reconstructed levels) to see what every
decoder will show, and refreshes the key frame where that falls short. It imports
bitstream/ only, never ref_encoder/ or ref_decoder/ (tests/test_package_imports.py).
"""
