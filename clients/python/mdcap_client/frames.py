"""Batches as columns: a pandas DataFrame (or pyarrow Table) per event kind.

Exactness: prices and sizes are columns of their integer mantissas (``price_mantissa``,
``size_mantissa``, …) beside their scales (``price_scale``, ``size_scale``), never floats; the
value is ``mantissa / 10**scale``, and :func:`decimal_column` turns a mantissa column into exact
Decimal objects when you need them. Timestamps are int64 ns since the epoch (``ts_event``,
``ts_recv``, a bar's ``start``/``end``; ``pandas.to_datetime(df.ts_recv, utc=True)`` for
datetimes). Absent values are nulls (pandas' nullable ``Int64``/``UInt64``/``boolean`` dtypes).

Columns per kind (every kind but ``instrument`` starts with venue, symbol, ts_event, ts_recv, seq):

========== =================================================================================
trade      price_mantissa, size_mantissa, price_scale, size_scale, side, trade_id
quote      bid_price_mantissa, bid_size_mantissa, ask_price_mantissa, ask_size_mantissa, scales
book       side, price_mantissa, size_mantissa, flags, price_scale, size_scale
order      action, order_id (int or text; text in Arrow), side, price/size mantissas, flags, scales
bar        interval, start, end, open/high/low/close/volume mantissas, trades, flags, scales
status     kind, from_seq, to_seq, ok, detail
snapshot   valid, bids, asks (lists of (price_mantissa, size_mantissa)), price_scale, size_scale
instrument venue, symbol, price_scale, size_scale, kind, tick/lot/min size mantissas, currencies,
           multiplier (text), expiry, instrument_id
========== =================================================================================

pandas and pyarrow are optional (``pip install mdcap-client[pandas]`` / ``[arrow]``);
``format="columns"`` needs neither and gives plain lists.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from ._decimal import DECIMALS
from .convert import AGGRESSOR_SIDES as _SIDES
from .convert import BOOK_SIDES as _BOOK
from .convert import ORDER_ACTIONS as _ACTIONS

__all__ = ["FrameBuilder", "to_frames", "decimal_column", "check_format", "COLUMNS"]

_HEAD: List[Tuple[str, str]] = [("venue", "str"), ("symbol", "str"), ("ts_event", "i64"), ("ts_recv", "i64"), ("seq", "u64?")]

#: Column names and types per kind. Types: str, i64, u64, u32, bool, list (levels), id (int or
#: text), seq (u64, or ints beyond 64 bits: then objects in pandas, text in Arrow); a trailing
#: ``?`` marks a column that may hold nulls.
COLUMNS: Dict[str, List[Tuple[str, str]]] = {
    "trade": _HEAD
    + [("price_mantissa", "i64"), ("size_mantissa", "u64"), ("price_scale", "u32"), ("size_scale", "u32"), ("side", "str"), ("trade_id", "str?")],
    "quote": _HEAD
    + [
        ("bid_price_mantissa", "i64?"),
        ("bid_size_mantissa", "u64"),
        ("ask_price_mantissa", "i64?"),
        ("ask_size_mantissa", "u64"),
        ("price_scale", "u32"),
        ("size_scale", "u32"),
    ],
    "book": _HEAD
    + [("side", "str"), ("price_mantissa", "i64"), ("size_mantissa", "u64"), ("flags", "u32"), ("price_scale", "u32"), ("size_scale", "u32")],
    "order": _HEAD
    + [
        ("action", "str"),
        ("order_id", "id"),
        ("side", "str"),
        ("price_mantissa", "i64"),
        ("size_mantissa", "u64"),
        ("flags", "u32"),
        ("price_scale", "u32"),
        ("size_scale", "u32"),
    ],
    "bar": _HEAD
    + [
        ("interval", "u32"),
        ("start", "i64"),
        ("end", "i64"),
        ("open_mantissa", "i64"),
        ("high_mantissa", "i64"),
        ("low_mantissa", "i64"),
        ("close_mantissa", "i64"),
        ("volume_mantissa", "u64"),
        ("trades", "u32"),
        ("flags", "u32"),
        ("price_scale", "u32"),
        ("size_scale", "u32"),
    ],
    "status": _HEAD + [("kind", "str"), ("from_seq", "seq?"), ("to_seq", "seq?"), ("ok", "bool?"), ("detail", "str")],
    "snapshot": _HEAD + [("valid", "bool"), ("bids", "list"), ("asks", "list"), ("price_scale", "u32"), ("size_scale", "u32")],
    "instrument": [
        ("venue", "str"),
        ("symbol", "str"),
        ("price_scale", "u32"),
        ("size_scale", "u32"),
        ("kind", "str?"),
        ("tick_size_mantissa", "i64?"),
        ("lot_size_mantissa", "u64?"),
        ("min_size_mantissa", "u64?"),
        ("base_currency", "str?"),
        ("quote_currency", "str?"),
        ("multiplier", "str?"),
        ("expiry", "i64?"),
        ("instrument_id", "u64?"),
    ],
}

_U64_MAX = (1 << 64) - 1

#: One event as a row of its kind's columns.
Row = Tuple[Any, ...]


def _opt(m: Any, name: str) -> Any:
    return getattr(m, name) if m.HasField(name) else None


def _seq(h: Any) -> Any:
    return h.seq or (0 if h.HasField("seq") else None)


def _big(s: Any, number: str, text: str) -> Any:
    if s.HasField(number):
        return getattr(s, number)
    return int(getattr(s, text)) if s.HasField(text) else None


def _order_id(o: Any) -> Any:
    which = o.WhichOneof("order_id")
    if which == "order_id_text":
        return o.order_id_text
    if which == "order_id_big":
        return int(o.order_id_big)
    return o.order_id_number


def _levels(levels: Any) -> List[Tuple[int, int]]:
    return [(x.price, x.size) for x in levels]


def _row_trade(ev: Any) -> Row:
    t = ev.trade
    h = t.header
    return (h.venue, h.symbol, h.ts_event, h.ts_recv, _seq(h), t.price, t.size, t.price_scale, t.size_scale, _SIDES[t.side], _opt(t, "trade_id"))


def _row_quote(ev: Any) -> Row:
    q = ev.quote
    h = q.header
    return (
        h.venue, h.symbol, h.ts_event, h.ts_recv, _seq(h),
        _opt(q, "bid_price"), q.bid_size, _opt(q, "ask_price"), q.ask_size, q.price_scale, q.size_scale,
    )  # fmt: skip


def _row_book(ev: Any) -> Row:
    b = ev.book
    h = b.header
    return (h.venue, h.symbol, h.ts_event, h.ts_recv, _seq(h), _BOOK[b.side], b.price, b.size, b.flags, b.price_scale, b.size_scale)


def _row_order(ev: Any) -> Row:
    o = ev.order
    h = o.header
    return (
        h.venue, h.symbol, h.ts_event, h.ts_recv, _seq(h),
        _ACTIONS[o.action], _order_id(o), _BOOK[o.side], o.price, o.size, o.flags, o.price_scale, o.size_scale,
    )  # fmt: skip


def _row_bar(ev: Any) -> Row:
    b = ev.bar
    h = b.header
    return (
        h.venue, h.symbol, h.ts_event, h.ts_recv, _seq(h),
        b.interval, b.start, b.end, b.open, b.high, b.low, b.close, b.volume, b.trades, b.flags, b.price_scale, b.size_scale,
    )  # fmt: skip


def _row_status(ev: Any) -> Row:
    s = ev.status
    h = s.header
    return (
        h.venue, h.symbol, h.ts_event, h.ts_recv, _seq(h),
        s.kind, _big(s, "from_seq", "from_seq_big"), _big(s, "to_seq", "to_seq_big"), _opt(s, "ok"), s.detail,
    )  # fmt: skip


def _row_snapshot(ev: Any) -> Row:
    s = ev.snapshot
    h = s.header
    return (h.venue, h.symbol, h.ts_event, h.ts_recv, _seq(h), s.valid, _levels(s.bids), _levels(s.asks), s.price_scale, s.size_scale)


def _row_instrument(ev: Any) -> Row:
    i = ev.instrument
    return (
        i.venue, i.symbol, i.price_scale, i.size_scale, i.kind or None,
        _opt(i, "tick_size"), _opt(i, "lot_size"), _opt(i, "min_size"),
        i.base_currency or None, i.quote_currency or None, i.multiplier or None, _opt(i, "expiry"), _opt(i, "instrument_id"),
    )  # fmt: skip


# The oneof field of mdcap.v1.Event -> (kind name, row maker).
_ROWS: Dict[str, Tuple[str, Callable[[Any], Row]]] = {
    "trade": ("trade", _row_trade),
    "quote": ("quote", _row_quote),
    "book": ("book", _row_book),
    "order": ("order", _row_order),
    "bar": ("bar", _row_bar),
    "status": ("status", _row_status),
    "snapshot": ("snapshot", _row_snapshot),
    "instrument": ("instrument", _row_instrument),
}


class FrameBuilder:
    """Collects the events of ``EventBatch`` messages as rows per kind; :meth:`frames` turns them into tables.

    >>> b = FrameBuilder()
    >>> for batch in mdcap_client.subscribe_batches(addr, capture="demo"):  # doctest: +SKIP
    ...     b.add(batch)
    >>> frames = b.frames()                    # {"trade": DataFrame, "quote": DataFrame, …}
    """

    def __init__(self) -> None:
        self._rows: Dict[str, List[Row]] = {}
        self.events = 0
        """Events added since the last :meth:`frames` (or :meth:`clear`)."""

    def add(self, batch: Any) -> None:
        """Adds the events of one ``EventBatch``."""
        rows = self._rows
        for ev in batch.events:
            entry = _ROWS.get(ev.WhichOneof("event"))
            if entry is None:
                continue
            kind, make = entry
            lst = rows.get(kind)
            if lst is None:
                lst = rows[kind] = []
            lst.append(make(ev))
            self.events += 1

    def clear(self) -> None:
        """Forgets the rows collected so far."""
        self._rows = {}
        self.events = 0

    def frames(self, format: str = "pandas", *, clear: bool = True) -> Dict[str, Any]:
        """A table per kind that has rows, keyed by kind (trade, quote, book, order, bar, status, snapshot, instrument).

        ``format``: ``"pandas"`` (DataFrames), ``"arrow"`` (pyarrow Tables) or ``"columns"`` (a dict
        of column name -> list, no dependency). With ``clear`` (default) the builder starts over.
        """
        check_format(format)
        make = _FORMATS[format]
        out = {kind: make(kind, rows) for kind, rows in self._rows.items() if rows}
        if clear:
            self.clear()
        return out


def _transpose(kind: str, rows: List[Row]) -> Dict[str, Sequence[Any]]:
    """Rows to columns (tuples), by name."""
    return dict(zip([n for n, _ in COLUMNS[kind]], zip(*rows)))


def _columns(kind: str, rows: List[Row]) -> Dict[str, List[Any]]:
    return {n: list(c) for n, c in _transpose(kind, rows).items()}


def _too_big(values: Sequence[Any]) -> bool:
    return any(v is not None and v > _U64_MAX for v in values)


def _pandas(kind: str, rows: List[Row]) -> Any:
    try:
        import pandas as pd
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("format='pandas' needs pandas: pip install 'mdcap-client[pandas]'") from e
    import numpy as np

    # Type -> (numpy dtype of the values, pandas dtype; a nullable one for columns with nulls).
    dtypes = {"i64": "int64", "u64": "uint64", "seq": "uint64", "u32": "uint32", "bool": "bool"}
    nullable = {"i64": "Int64", "u64": "UInt64", "seq": "UInt64", "bool": "boolean"}
    data: Dict[str, Any] = {}
    for (name, typ), values in zip(COLUMNS[kind], zip(*rows)):
        base = typ.rstrip("?")
        dtype = dtypes.get(base)
        if dtype is None or (base == "seq" and _too_big(values)):
            data[name] = pd.Series(values, dtype=object)
        elif not typ.endswith("?"):
            data[name] = pd.Series(np.array(values, dtype=dtype))
        elif None in values:
            data[name] = pd.Series(pd.array(values, dtype=nullable[base]))
        else:  # a nullable column without nulls: through numpy (fast), then the nullable dtype
            data[name] = pd.Series(pd.array(np.array(values, dtype=dtype), dtype=nullable[base]))
    return pd.DataFrame(data, copy=False)


def _arrow(kind: str, rows: List[Row]) -> Any:
    try:
        import pyarrow as pa
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("format='arrow' needs pyarrow: pip install 'mdcap-client[arrow]'") from e
    level = pa.list_(pa.struct([("price_mantissa", pa.int64()), ("size_mantissa", pa.uint64())]))
    types = {"str": pa.string(), "i64": pa.int64(), "u64": pa.uint64(), "seq": pa.uint64(), "u32": pa.uint32(), "bool": pa.bool_(), "list": level, "id": pa.string()}
    cols = _transpose(kind, rows)
    arrays = []
    names = []
    for name, typ in COLUMNS[kind]:
        values: Sequence[Any] = cols[name]
        base = typ.rstrip("?")
        if base == "id" or (base == "seq" and _too_big(values)):
            values = [None if v is None else str(v) for v in values]
            base = "str"
        elif base == "list":
            values = [[{"price_mantissa": p, "size_mantissa": s} for p, s in v] for v in values]
        else:
            values = list(values)
        arrays.append(pa.array(values, type=types[base]))
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


_FORMATS: Dict[str, Callable[[str, List[Row]], Any]] = {"pandas": _pandas, "arrow": _arrow, "columns": _columns}


def check_format(format: str) -> None:
    """Raises ValueError for an unknown format, ImportError when its library is missing."""
    if format not in _FORMATS:
        raise ValueError(f"format: expected one of {', '.join(_FORMATS)}, found {format!r}")
    if format in _LIBRARIES:
        try:
            __import__(_LIBRARIES[format])
        except ImportError as e:
            raise ImportError(f"format={format!r} needs {_LIBRARIES[format]}: pip install 'mdcap-client[{format}]'") from e


_LIBRARIES = {"pandas": "pandas", "arrow": "pyarrow"}


def to_frames(batches: Iterable[Any], format: str = "pandas") -> Dict[str, Any]:
    """All events of some ``EventBatch`` messages as one table per kind (see the module's docs for the columns)."""
    builder = FrameBuilder()
    for batch in batches:
        builder.add(batch)
    return builder.frames(format)


def decimal_column(mantissas: Iterable[Any], scales: Iterable[Any]) -> List[Optional[Decimal]]:
    """Exact Decimals from a mantissa column and its scale column (nulls stay None).

    ``df["price"] = decimal_column(df.price_mantissa, df.price_scale)``
    """
    out: List[Optional[Decimal]] = []
    for m, s in zip(mantissas, scales):
        try:
            out.append(DECIMALS[int(s)][int(m)])
        except (TypeError, ValueError):  # None, pandas' NA
            out.append(None)
    return out
