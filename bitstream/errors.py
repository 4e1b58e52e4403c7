"""The one error type of the bitstream layer: every parsing problem ends here, with context."""
from __future__ import annotations


class BitstreamError(Exception):
    """A stream violates the syntax or a constraint of the specification.

    The message names the syntax element, the unit and the bit position when they are known,
    so that a user (or a conformance report) can find the problem in a trace.
    """

    def __init__(self, message: str, *, element: str | None = None, unit: str | None = None,
                 bit_pos: int | None = None) -> None:
        self.reason = message
        self.element = element
        self.unit = unit
        self.bit_pos = bit_pos
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.unit is not None:
            where.append(f"unit {self.unit}")
        if self.element is not None:
            where.append(f"element {self.element}")
        if self.bit_pos is not None:
            where.append(f"bit {self.bit_pos}")
        return f"{self.reason} ({', '.join(where)})" if where else self.reason

    def with_context(self, *, unit: str | None = None, bit_offset: int = 0) -> "BitstreamError":
        """The same error, located in the whole stream (bit_offset of the unit payload)."""
        pos = None if self.bit_pos is None else self.bit_pos + bit_offset
        return BitstreamError(self.reason, element=self.element, unit=unit or self.unit, bit_pos=pos)
