"""IFVC conformance suite: quality metrics, test conditions and reporting."""
