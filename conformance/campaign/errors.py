"""The one exception type of the campaign package: a problem a user can fix, said in one line."""
from __future__ import annotations


class CampaignError(Exception):
    """Bad config, missing sequence, unreadable table: the CLI prints it on one line and exits
    non-zero, without a traceback."""
