"""mdcap's events as frozen dataclasses, and their canonical JSON.

Every event mirrors an event of @mdcap/core one for one (docs/event-model.md): prices and sizes
are exact :class:`decimal.Decimal` values whose exponent is minus the scale (a price of mantissa
15000 at scale 2 is ``Decimal('150.00')``), timestamps are int nanoseconds since the Unix epoch
(UTC), sequence numbers are ints or None. Each event keeps its scales (``price_scale``,
``size_scale``), and the integer mantissas are available as ``*_mantissa`` properties.

``to_json()`` gives the canonical JSON line of the event, byte for byte what ``mdcap replay
--json`` prints for it (``formatEventJson`` of @mdcap/core): fixed key order, decimals as strings
with all their fraction digits, nanoseconds and sequence numbers as strings, no spaces. A
:class:`BookSnapshot` prints as the ``top`` line of ``mdcap replay --print top --json``. An
:class:`Instrument` has no replay equivalent; it prints as ``{"type":"instrument",...}``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any, Callable, ClassVar, Dict, Mapping, NamedTuple, Optional, Tuple, Type, TypeVar, Union, cast

from ._decimal import mantissa_of

#: A JSON string literal, escaped as JSON.stringify escapes it (non-ASCII kept as it is).
_quote: Callable[[str], str] = encode_basestring

__all__ = [
    "Trade",
    "Quote",
    "BookUpdate",
    "OrderUpdate",
    "Bar",
    "Status",
    "BookSnapshot",
    "Level",
    "Instrument",
    "Event",
    "MarketEvent",
    "BookFlags",
    "BarFlags",
]

# Frozen dataclasses with __slots__ where the Python has them (3.10+).
_FROZEN: Dict[str, Any] = {"frozen": True, "slots": True} if sys.version_info >= (3, 10) else {"frozen": True}


class BookFlags:
    """Flags of book and order updates (@mdcap/core's ``BookFlags``); combine with ``|``."""

    SNAPSHOT = 1
    """The update belongs to a snapshot."""
    SNAPSHOT_BEGIN = 2
    """First update of a snapshot: the book is cleared before it is applied."""
    SNAPSHOT_END = 4
    """Last update of a snapshot: the book is complete and valid after it."""
    LAST = 8
    """Last update of a venue packet: the book is consistent after it."""


class BarFlags:
    """Flags of bars (@mdcap/core's ``BarFlags``)."""

    GAP = 1
    """The bucket saw a gap, disconnect, resync or failed checksum: trades may be missing."""
    EMPTY = 2
    """No trade fell in the bucket; OHLC repeat the previous close."""
    PARTIAL = 4
    """The bucket had not closed when the engine stopped."""


def _dec(value: Decimal) -> str:
    return format(value, "f")


def _opt_dec(value: Optional[Decimal]) -> str:
    return "null" if value is None else f'"{format(value, "f")}"'


def _opt_int(value: Optional[int]) -> str:
    return "null" if value is None else f'"{value}"'


def _head(kind: str, e: Any) -> str:
    """The six keys every event's JSON starts with, and the comma after them."""
    seq = "null" if e.seq is None else f'"{e.seq}"'
    return (
        f'{{"type":"{kind}","venue":{_quote(e.venue)},"symbol":{_quote(e.symbol)},'
        f'"tsEvent":"{e.ts_event}","tsRecv":"{e.ts_recv}","seq":{seq},'
    )


def _mantissa(name: str, scale: str, doc: str) -> property:
    """A read-only property: the integer mantissa of the Decimal field ``name`` at the scale field ``scale``."""

    def get(self: Any) -> Any:
        value = getattr(self, name)
        return None if value is None else mantissa_of(value, getattr(self, scale))

    return property(get, doc=doc)


class _JsonMixin:
    """``to_dict()`` for every event: the canonical JSON object as Python values."""

    __slots__ = ()

    def to_json(self) -> str:  # pragma: no cover - every event defines it
        raise NotImplementedError

    def to_dict(self) -> Dict[str, Any]:
        """The canonical JSON object (:meth:`to_json` parsed): decimals and ns as strings."""
        return json.loads(self.to_json())  # type: ignore[no-any-return]


@dataclass(**_FROZEN)
class Trade(_JsonMixin):
    """A trade. ``side`` is the aggressor: ``'buy'`` (a buyer lifted the ask), ``'sell'`` or ``'none'``."""

    type: ClassVar[str] = "trade"
    venue: str
    symbol: str
    ts_event: int
    ts_recv: int
    seq: Optional[int]
    price: Decimal
    size: Decimal
    side: str
    trade_id: Optional[str]
    price_scale: int
    size_scale: int

    price_mantissa = _mantissa("price", "price_scale", "The price as an integer at ``price_scale``.")
    size_mantissa = _mantissa("size", "size_scale", "The size as an integer at ``size_scale``.")

    def to_json(self) -> str:
        """The canonical JSON line (what ``mdcap replay --json`` prints), without a newline."""
        tid = "null" if self.trade_id is None else _quote(self.trade_id)
        return (
            f'{_head("trade", self)}"price":"{_dec(self.price)}","size":"{_dec(self.size)}",'
            f'"side":{_quote(self.side)},"tradeId":{tid}}}'
        )


@dataclass(**_FROZEN)
class Quote(_JsonMixin):
    """Top of book as the venue publishes it. An empty side has price None and size 0."""

    type: ClassVar[str] = "quote"
    venue: str
    symbol: str
    ts_event: int
    ts_recv: int
    seq: Optional[int]
    bid_price: Optional[Decimal]
    bid_size: Decimal
    ask_price: Optional[Decimal]
    ask_size: Decimal
    price_scale: int
    size_scale: int

    bid_price_mantissa = _mantissa("bid_price", "price_scale", "The bid price at ``price_scale``, or None.")
    bid_size_mantissa = _mantissa("bid_size", "size_scale", "The bid size at ``size_scale``.")
    ask_price_mantissa = _mantissa("ask_price", "price_scale", "The ask price at ``price_scale``, or None.")
    ask_size_mantissa = _mantissa("ask_size", "size_scale", "The ask size at ``size_scale``.")

    def to_json(self) -> str:
        """The canonical JSON line (what ``mdcap replay --json`` prints), without a newline."""
        return (
            f'{_head("quote", self)}"bidPrice":{_opt_dec(self.bid_price)},"bidSize":"{_dec(self.bid_size)}",'
            f'"askPrice":{_opt_dec(self.ask_price)},"askSize":"{_dec(self.ask_size)}"}}'
        )


@dataclass(**_FROZEN)
class BookUpdate(_JsonMixin):
    """An L2 change: the level's new aggregate size (0 removes it). ``flags`` are :class:`BookFlags`."""

    type: ClassVar[str] = "book"
    venue: str
    symbol: str
    ts_event: int
    ts_recv: int
    seq: Optional[int]
    side: str
    price: Decimal
    size: Decimal
    flags: int
    price_scale: int
    size_scale: int

    price_mantissa = _mantissa("price", "price_scale", "The price as an integer at ``price_scale``.")
    size_mantissa = _mantissa("size", "size_scale", "The size as an integer at ``size_scale``.")

    def to_json(self) -> str:
        """The canonical JSON line (what ``mdcap replay --json`` prints), without a newline."""
        return (
            f'{_head("book", self)}"side":{_quote(self.side)},"price":"{_dec(self.price)}",'
            f'"size":"{_dec(self.size)}","flags":{self.flags}}}'
        )


@dataclass(**_FROZEN)
class OrderUpdate(_JsonMixin):
    """An L3 change (``action``: add, modify, cancel, fill, clear). ``order_id`` is an int or the venue's text."""

    type: ClassVar[str] = "order"
    venue: str
    symbol: str
    ts_event: int
    ts_recv: int
    seq: Optional[int]
    action: str
    order_id: Union[int, str]
    side: str
    price: Decimal
    size: Decimal
    flags: int
    price_scale: int
    size_scale: int

    price_mantissa = _mantissa("price", "price_scale", "The price as an integer at ``price_scale``.")
    size_mantissa = _mantissa("size", "size_scale", "The size as an integer at ``size_scale``.")

    def to_json(self) -> str:
        """The canonical JSON line (what ``mdcap replay --json`` prints), without a newline."""
        oid = self.order_id
        return (
            f'{_head("order", self)}"action":{_quote(self.action)},"orderId":{_quote(oid if isinstance(oid, str) else str(oid))},'
            f'"side":{_quote(self.side)},"price":"{_dec(self.price)}","size":"{_dec(self.size)}","flags":{self.flags}}}'
        )


@dataclass(**_FROZEN)
class Bar(_JsonMixin):
    """OHLCV of one interval (seconds), ``start`` inclusive to ``end`` exclusive (ns). ``flags`` are :class:`BarFlags`."""

    type: ClassVar[str] = "bar"
    venue: str
    symbol: str
    ts_event: int
    ts_recv: int
    seq: Optional[int]
    interval: int
    start: int
    end: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trades: int
    flags: int
    price_scale: int
    size_scale: int

    open_mantissa = _mantissa("open", "price_scale", "The open as an integer at ``price_scale``.")
    high_mantissa = _mantissa("high", "price_scale", "The high as an integer at ``price_scale``.")
    low_mantissa = _mantissa("low", "price_scale", "The low as an integer at ``price_scale``.")
    close_mantissa = _mantissa("close", "price_scale", "The close as an integer at ``price_scale``.")
    volume_mantissa = _mantissa("volume", "size_scale", "The volume as an integer at ``size_scale``.")

    def to_json(self) -> str:
        """The canonical JSON line (what ``mdcap replay --json`` prints), without a newline."""
        return (
            f'{_head("bar", self)}"interval":{self.interval},"start":"{self.start}","end":"{self.end}",'
            f'"open":"{_dec(self.open)}","high":"{_dec(self.high)}","low":"{_dec(self.low)}",'
            f'"close":"{_dec(self.close)}","volume":"{_dec(self.volume)}","trades":{self.trades},"flags":{self.flags}}}'
        )


@dataclass(**_FROZEN)
class Status(_JsonMixin):
    """Connection and data-quality state: ``kind`` is gap, resync, checksum, disconnected, reconnected, ….

    ``gap`` carries the missing sequence range ``from_seq..to_seq`` (inclusive); ``checksum`` its
    result in ``ok`` (None for other kinds). The symbol is ``'*'`` for a venue-wide status.
    """

    type: ClassVar[str] = "status"
    venue: str
    symbol: str
    ts_event: int
    ts_recv: int
    seq: Optional[int]
    kind: str
    from_seq: Optional[int]
    to_seq: Optional[int]
    ok: Optional[bool]
    detail: str

    def to_json(self) -> str:
        """The canonical JSON line (what ``mdcap replay --json`` prints), without a newline."""
        ok = "null" if self.ok is None else ("true" if self.ok else "false")
        return (
            f'{_head("status", self)}"kind":{_quote(self.kind)},"fromSeq":{_opt_int(self.from_seq)},'
            f'"toSeq":{_opt_int(self.to_seq)},"ok":{ok},"detail":{_quote(self.detail)}}}'
        )


class Level(NamedTuple):
    """One price level of a :class:`BookSnapshot`: its price and aggregate size."""

    price: Decimal
    size: Decimal


@dataclass(**_FROZEN)
class BookSnapshot(_JsonMixin):
    """The best levels of a book after a book or order event (kind ``snapshot``), best first.

    ``valid`` is False while the book is not known to be complete (before the first snapshot,
    after a gap until the resync). ``type`` is the kind's name, ``'snapshot'`` (as in the Node
    client); its JSON is the ``top`` line of ``mdcap replay --print top --json``.
    """

    type: ClassVar[str] = "snapshot"
    venue: str
    symbol: str
    ts_event: int
    ts_recv: int
    seq: Optional[int]
    valid: bool
    bids: Tuple[Level, ...]
    asks: Tuple[Level, ...]
    price_scale: int
    size_scale: int

    def to_json(self) -> str:
        """The ``top`` JSON line of ``mdcap replay --print top --depth N --json``, without a newline."""
        bids = ",".join(f'["{_dec(p)}","{_dec(s)}"]' for p, s in self.bids)
        asks = ",".join(f'["{_dec(p)}","{_dec(s)}"]' for p, s in self.asks)
        valid = "true" if self.valid else "false"
        return f'{_head("top", self)}"valid":{valid},"bids":[{bids}],"asks":[{asks}]}}'


@dataclass(**_FROZEN)
class Instrument(_JsonMixin):
    """An instrument's definition: the scales of its mantissas and what else the venue defines.

    ``tick_size``, ``lot_size`` and ``min_size`` are Decimals at the instrument's scales; absent
    values are None; ``extra`` holds the rest of the venue's definition as text.
    """

    type: ClassVar[str] = "instrument"
    venue: str
    symbol: str
    price_scale: int
    size_scale: int
    kind: Optional[str]
    tick_size: Optional[Decimal]
    lot_size: Optional[Decimal]
    min_size: Optional[Decimal]
    base_currency: Optional[str]
    quote_currency: Optional[str]
    multiplier: Optional[Decimal]
    expiry: Optional[int]
    instrument_id: Optional[int]
    extra: Mapping[str, str] = field(default_factory=dict, hash=False)

    def to_json(self) -> str:
        """``{"type":"instrument",...}`` in @mdcap/core's ``Instrument`` field names and order, ``extra`` keys sorted."""

        def text(v: Optional[str]) -> str:
            return "null" if v is None else _quote(v)

        extra = ",".join(f"{_quote(k)}:{_quote(self.extra[k])}" for k in sorted(self.extra))
        multiplier = "null" if self.multiplier is None else _quote(str(self.multiplier))
        return (
            f'{{"type":"instrument","venue":{_quote(self.venue)},"symbol":{_quote(self.symbol)},'
            f'"priceScale":{self.price_scale},"sizeScale":{self.size_scale},"kind":{text(self.kind)},'
            f'"tickSize":{_opt_dec(self.tick_size)},"lotSize":{_opt_dec(self.lot_size)},"minSize":{_opt_dec(self.min_size)},'
            f'"baseCurrency":{text(self.base_currency)},"quoteCurrency":{text(self.quote_currency)},'
            f'"multiplier":{multiplier},"expiry":{_opt_int(self.expiry)},"instrumentId":{_opt_int(self.instrument_id)},'
            f'"extra":{{{extra}}}}}'
        )


#: The engine's callback events (what ``mdcap replay --json`` prints).
MarketEvent = Union[Trade, Quote, BookUpdate, OrderUpdate, Bar, Status]
#: Everything a subscription yields.
Event = Union[Trade, Quote, BookUpdate, OrderUpdate, Bar, Status, BookSnapshot, Instrument]

_E = TypeVar("_E")


def fast_factory(cls: Type[_E]) -> Callable[..., _E]:
    """A constructor of the frozen dataclass ``cls`` taking every field positionally, ~3x faster than ``cls(...)``.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``, which costs
    more than converting the event. This builds an instance of an unfrozen twin with the same
    fields (the same slots, so the same memory layout) and then makes it a ``cls``: the result is
    an ordinary, immutable ``cls`` instance. Where the interpreter refuses the class change, it
    is ``cls`` itself.
    """
    names = [f.name for f in dataclasses.fields(cast(Any, cls))]
    kwargs: Dict[str, Any] = {"slots": True} if sys.version_info >= (3, 10) else {}
    twin = dataclasses.make_dataclass(f"_{cls.__name__}Builder", names, bases=cls.__mro__[1:-1], **kwargs)
    probe: Any = object.__new__(twin)
    try:
        probe.__class__ = cls
    except TypeError:  # pragma: no cover - another interpreter's layout rules
        return cls

    def build(*values: Any) -> _E:
        obj = twin(*values)
        obj.__class__ = cls
        return obj  # type: ignore[no-any-return]

    build.__doc__ = f"Builds a {cls.__name__} from all its fields, in order ({', '.join(names)})."
    return build
