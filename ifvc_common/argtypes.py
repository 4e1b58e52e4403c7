"""argparse ``type=`` helpers for numeric options: a value outside the allowed range is a usage
error (exit status 2) whose one line names the option (argparse adds it) and the range."""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from fractions import Fraction


def _num(x: object) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _range_text(lo: object, hi: object, lo_open: bool = False) -> str:
    if lo is not None and hi is not None:
        return f"> {_num(lo)} and <= {_num(hi)}" if lo_open else f"in {_num(lo)}..{_num(hi)}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {_num(lo)}"
    return f"<= {_num(hi)}" if hi is not None else "(any value)"


def int_range(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """An integer in [lo, hi] (either bound may be None: unbounded)."""
    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer {_range_text(lo, hi)}, not {text!r}") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"must be an integer {_range_text(lo, hi)}, not {value}")
        return value
    parse.__name__ = "integer"
    return parse


def float_range(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False) -> Callable[[str], float]:
    """A finite number in [lo, hi] (or (lo, hi] with lo_open)."""
    def parse(text: str) -> float:
        what = f"must be a number {_range_text(lo, hi, lo_open)}"
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what}, not {text!r}") from None
        if (not math.isfinite(value) or (lo is not None and (value <= lo if lo_open else value < lo))
                or (hi is not None and value > hi)):
            raise argparse.ArgumentTypeError(f"{what}, not {text}")
        return value
    parse.__name__ = "number"
    return parse


def fraction_range(lo: Fraction | int = 0, hi: Fraction | int | None = None, *,
                   lo_open: bool = True) -> Callable[[str], Fraction]:
    """An exact rational (``25``, ``30000/1001``, ``29.97``) in (lo, hi] (or [lo, hi])."""
    def parse(text: str) -> Fraction:
        what = f"must be a number or fraction N/D {_range_text(lo, hi, lo_open)}"
        try:
            value = Fraction(text)
        except (ValueError, ZeroDivisionError):
            raise argparse.ArgumentTypeError(f"{what}, not {text!r}") from None
        if (value <= lo if lo_open else value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"{what}, not {text}")
        return value
    parse.__name__ = "fraction"
    return parse
