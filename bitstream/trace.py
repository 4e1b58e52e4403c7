"""Syntax trace: one entry per syntax element, like a VTM trace (spec element names)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TraceEntry:
    bit_pos: int          # position of the element's first bit in the whole stream
    name: str             # spec name, with array indices, e.g. sh_sem_precision[3]
    descriptor: str       # u(8), ue(v), se(v), ae(v), b(8), f(32), ...
    value: int | str
    num_bits: int         # bits used (for ae(v): bits consumed by the decoder meanwhile)

    def format(self) -> str:
        return f"{self.bit_pos:>10}  {self.name:<44} {self.descriptor:<7} {self.value!s:>12}"

    def as_dict(self) -> dict[str, int | str]:
        return {"bit_pos": self.bit_pos, "name": self.name, "descriptor": self.descriptor,
                "value": self.value, "num_bits": self.num_bits}
