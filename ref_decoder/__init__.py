"""IFVC reference decoder: parsing and semantic reconstruction (normative, via bitstream/),
key-frame decoding, edits, IDI and generators (informative)."""
