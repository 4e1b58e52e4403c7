"""IFVC bitstream: bit I/O, Exp-Golomb, CABAC, unit framing and every syntax structure."""
