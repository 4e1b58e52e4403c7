"""Command-line tools of the IFVC reference software (sequence preparation, analysis plots, statistics)."""
