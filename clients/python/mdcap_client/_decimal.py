"""Exact decimals from mantissa + scale, and their canonical text.

A price or size on the wire is an integer mantissa with a scale: the value is
``mantissa * 10**-scale``. :func:`to_decimal` builds the :class:`decimal.Decimal` with exactly that
exponent (``15025, 2`` gives ``Decimal('150.25')``, ``15000, 2`` gives ``Decimal('150.00')``), so the
scale survives and the mantissa can be recovered. Nothing here depends on the active decimal
context: the Decimal constructor is exact whatever the context's precision or rounding.

Prices repeat (a few hundred levels carry most of a session), so Decimals are cached per scale;
they are immutable, so sharing them is safe.
"""

from __future__ import annotations

from decimal import Context, Decimal
from typing import Dict, Optional

__all__ = ["to_decimal", "optional_decimal", "format_decimal", "decimal_text", "mantissa_of", "DECIMALS"]

# How many distinct mantissas each scale's cache holds before it starts over.
_CACHE_LIMIT = 1 << 16

# Wide enough for any 64-bit mantissa at any scale, so scaleb never rounds.
_EXACT = Context(prec=64)


class _ScaleCache(Dict[int, Decimal]):
    """Mantissa -> Decimal at one scale; a miss builds the Decimal exactly (dict lookups stay in C)."""

    __slots__ = ("suffix",)

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.suffix = f"E-{scale}"

    def __missing__(self, mantissa: int) -> Decimal:
        d = Decimal(f"{mantissa}{self.suffix}")
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        self[mantissa] = d
        return d


class _Caches(Dict[int, _ScaleCache]):
    """Scale -> its cache, made on first use."""

    def __missing__(self, scale: int) -> _ScaleCache:
        if scale < 0:
            raise ValueError(f"scale: expected an integer from 0, found {scale}")
        cache = self[scale] = _ScaleCache(scale)
        return cache


#: ``DECIMALS[scale][mantissa]`` is :func:`to_decimal` without the call (the converters' fast path).
DECIMALS: Dict[int, _ScaleCache] = _Caches()


def to_decimal(mantissa: int, scale: int) -> Decimal:
    """The exact Decimal ``mantissa * 10**-scale``, with exponent ``-scale`` (``15000, 2`` -> ``150.00``)."""
    return DECIMALS[scale][mantissa]


def optional_decimal(mantissa: Optional[int], scale: int) -> Optional[Decimal]:
    """:func:`to_decimal`, or None for None."""
    return None if mantissa is None else DECIMALS[scale][mantissa]


def format_decimal(mantissa: int, scale: int) -> str:
    """Decimal text with exactly ``scale`` fraction digits, as ``formatDecimal`` of @mdcap/core prints it.

    ``format_decimal(15050, 2) == "150.50"``, ``format_decimal(-5, 3) == "-0.005"``,
    ``format_decimal(7, 0) == "7"``.
    """
    if scale == 0:
        return str(mantissa)
    negative = mantissa < 0
    digits = str(-mantissa if negative else mantissa)
    if len(digits) <= scale:
        digits = "0" * (scale - len(digits) + 1) + digits
    text = f"{digits[:-scale]}.{digits[-scale:]}"
    return "-" + text if negative else text


def decimal_text(value: Decimal) -> str:
    """The canonical text of a Decimal made by :func:`to_decimal`: all its fraction digits, never an exponent.

    ``Decimal('1E-7')`` (mantissa 1, scale 7) gives ``"0.0000001"``, ``Decimal('150.00')`` gives
    ``"150.00"``: the same text as :func:`format_decimal` of its mantissa and scale.
    """
    return format(value, "f")


def mantissa_of(value: Decimal, scale: int) -> int:
    """The integer mantissa of ``value`` at ``scale`` (``Decimal('150.25'), 2`` -> ``15025``).

    Raises ValueError when the value has more fraction digits than the scale allows.
    """
    m = value.scaleb(scale, _EXACT)
    if m != m.to_integral_value():
        raise ValueError(f"{value} has more than {scale} fraction digits")
    return int(m)
