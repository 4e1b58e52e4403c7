"""IFVC reference encoder: face analysis, key-frame coding, quantization and prediction."""
