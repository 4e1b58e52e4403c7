"""The one exception type of the anchors package: a problem a user can fix, said in one line."""
from __future__ import annotations


class AnchorError(Exception):
    """A user-facing failure (bad input, missing tool, encoder failure).

    The CLI prints its message on one line and exits non-zero, without a traceback.
    """
