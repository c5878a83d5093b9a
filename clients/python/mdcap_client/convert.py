"""Protobuf messages (proto/mdcap/v1/events.proto) to the dataclasses of :mod:`mdcap_client.events`.

:func:`events_of` converts a whole ``EventBatch``; :func:`event_from_pb` one ``Event``. The
converters are the client's hot path, so they read each field once, look decimals up in
per-scale caches, and build the frozen dataclasses through :func:`~mdcap_client.events.fast_factory`.

Mapping: enums to @mdcap/core's words (``AGGRESSOR_SIDE_BUY`` -> ``'buy'``, ``BOOK_SIDE_BID`` ->
``'bid'``, ``ORDER_ACTION_ADD`` -> ``'add'``); absent optional fields (``Header.seq``, a quote
side's price, a status's sequence range or ``ok``) to None; an order id to an int (a number, or
the digits of one beyond 64 bits) or the venue's text.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable, Dict, List, Optional

from ._decimal import DECIMALS
from ._proto.mdcap.v1 import events_pb2
from .events import (
    Bar,
    BookSnapshot,
    BookUpdate,
    Event,
    Instrument,
    Level,
    OrderUpdate,
    Quote,
    Status,
    Trade,
    fast_factory,
)

__all__ = ["events_of", "event_from_pb", "instrument_from_pb", "AGGRESSOR_SIDES", "BOOK_SIDES", "ORDER_ACTIONS"]


class _Words(Dict[int, str]):
    """Enum number -> word; a number this client does not know (a newer server) reads ``unknown(N)``."""

    def __missing__(self, number: int) -> str:
        return f"unknown({number})"


AGGRESSOR_SIDES: Dict[int, str] = _Words({0: "none", 1: "buy", 2: "sell"})
BOOK_SIDES: Dict[int, str] = _Words({0: "bid", 1: "ask"})
ORDER_ACTIONS: Dict[int, str] = _Words({0: "add", 1: "modify", 2: "cancel", 3: "fill", 4: "clear"})

_trade = fast_factory(Trade)
_quote = fast_factory(Quote)
_book = fast_factory(BookUpdate)
_order = fast_factory(OrderUpdate)
_bar = fast_factory(Bar)
_status = fast_factory(Status)
_snapshot = fast_factory(BookSnapshot)
_new_level = tuple.__new__

# Each converter takes the `Event` wrapper. Optional fields are read as `x or (0 if present else
# None)`: one field read in the common case (a non-zero value), the presence test only for zero.
# Globals are bound as default arguments (local lookups).


def _conv_trade(ev: Any, new: Any = _trade, D: Any = DECIMALS, SIDE: Any = AGGRESSOR_SIDES) -> Trade:
    t = ev.trade
    h = t.header
    ps = t.price_scale
    ss = t.size_scale
    return new(  # type: ignore[no-any-return]
        h.venue,
        h.symbol,
        h.ts_event,
        h.ts_recv,
        h.seq or (0 if h.HasField("seq") else None),
        D[ps][t.price],
        D[ss][t.size],
        SIDE[t.side],
        t.trade_id or ("" if t.HasField("trade_id") else None),
        ps,
        ss,
    )


def _conv_quote(ev: Any, new: Any = _quote, D: Any = DECIMALS) -> Quote:
    q = ev.quote
    h = q.header
    ps = q.price_scale
    ss = q.size_scale
    prices = D[ps]
    bid = q.bid_price or (0 if q.HasField("bid_price") else None)
    ask = q.ask_price or (0 if q.HasField("ask_price") else None)
    return new(  # type: ignore[no-any-return]
        h.venue,
        h.symbol,
        h.ts_event,
        h.ts_recv,
        h.seq or (0 if h.HasField("seq") else None),
        None if bid is None else prices[bid],
        D[ss][q.bid_size],
        None if ask is None else prices[ask],
        D[ss][q.ask_size],
        ps,
        ss,
    )


def _conv_book(ev: Any, new: Any = _book, D: Any = DECIMALS, SIDE: Any = BOOK_SIDES) -> BookUpdate:
    b = ev.book
    h = b.header
    ps = b.price_scale
    ss = b.size_scale
    return new(  # type: ignore[no-any-return]
        h.venue,
        h.symbol,
        h.ts_event,
        h.ts_recv,
        h.seq or (0 if h.HasField("seq") else None),
        SIDE[b.side],
        D[ps][b.price],
        D[ss][b.size],
        b.flags,
        ps,
        ss,
    )


def _order_id(o: Any) -> Any:
    which = o.WhichOneof("order_id")
    if which == "order_id_number":
        return o.order_id_number
    if which == "order_id_text":
        return o.order_id_text
    if which == "order_id_big":
        return int(o.order_id_big)
    return 0  # proto3: an unset oneof reads as the number 0


def _conv_order(
    ev: Any, new: Any = _order, D: Any = DECIMALS, SIDE: Any = BOOK_SIDES, ACTION: Any = ORDER_ACTIONS, oid: Any = _order_id
) -> OrderUpdate:
    o = ev.order
    h = o.header
    ps = o.price_scale
    ss = o.size_scale
    return new(  # type: ignore[no-any-return]
        h.venue,
        h.symbol,
        h.ts_event,
        h.ts_recv,
        h.seq or (0 if h.HasField("seq") else None),
        ACTION[o.action],
        o.order_id_number or oid(o),
        SIDE[o.side],
        D[ps][o.price],
        D[ss][o.size],
        o.flags,
        ps,
        ss,
    )


def _conv_bar(ev: Any, new: Any = _bar, D: Any = DECIMALS) -> Bar:
    b = ev.bar
    h = b.header
    ps = b.price_scale
    ss = b.size_scale
    prices = D[ps]
    return new(  # type: ignore[no-any-return]
        h.venue,
        h.symbol,
        h.ts_event,
        h.ts_recv,
        h.seq or (0 if h.HasField("seq") else None),
        b.interval,
        b.start,
        b.end,
        prices[b.open],
        prices[b.high],
        prices[b.low],
        prices[b.close],
        D[ss][b.volume],
        b.trades,
        b.flags,
        ps,
        ss,
    )


def _seq_text(s: Any, number: str, text: str) -> Optional[int]:
    if s.HasField(number):
        return getattr(s, number)  # type: ignore[no-any-return]
    if s.HasField(text):
        return int(getattr(s, text))
    return None


def _conv_status(ev: Any, new: Any = _status) -> Status:
    s = ev.status
    h = s.header
    return new(  # type: ignore[no-any-return]
        h.venue,
        h.symbol,
        h.ts_event,
        h.ts_recv,
        h.seq or (0 if h.HasField("seq") else None),
        s.kind,
        _seq_text(s, "from_seq", "from_seq_big"),
        _seq_text(s, "to_seq", "to_seq_big"),
        s.ok if s.HasField("ok") else None,
        s.detail,
    )


def _conv_snapshot(ev: Any, new: Any = _snapshot, D: Any = DECIMALS, level: Any = _new_level) -> BookSnapshot:
    s = ev.snapshot
    h = s.header
    ps = s.price_scale
    ss = s.size_scale
    prices = D[ps]
    sizes = D[ss]
    return new(  # type: ignore[no-any-return]
        h.venue,
        h.symbol,
        h.ts_event,
        h.ts_recv,
        h.seq or (0 if h.HasField("seq") else None),
        s.valid,
        tuple([level(Level, (prices[x.price], sizes[x.size])) for x in s.bids]),
        tuple([level(Level, (prices[x.price], sizes[x.size])) for x in s.asks]),
        ps,
        ss,
    )


def instrument_from_pb(i: Any) -> Instrument:
    """An ``mdcap.v1.Instrument`` message as an :class:`~mdcap_client.events.Instrument`."""
    ps = i.price_scale
    ss = i.size_scale
    return Instrument(
        venue=i.venue,
        symbol=i.symbol,
        price_scale=ps,
        size_scale=ss,
        kind=i.kind or None,
        tick_size=DECIMALS[ps][i.tick_size] if i.HasField("tick_size") else None,
        lot_size=DECIMALS[ss][i.lot_size] if i.HasField("lot_size") else None,
        min_size=DECIMALS[ss][i.min_size] if i.HasField("min_size") else None,
        base_currency=i.base_currency or None,
        quote_currency=i.quote_currency or None,
        multiplier=Decimal(i.multiplier) if i.multiplier else None,
        expiry=i.expiry if i.HasField("expiry") else None,
        instrument_id=i.instrument_id if i.HasField("instrument_id") else None,
        extra=dict(i.extra),
    )


def _conv_instrument(ev: Any) -> Instrument:
    return instrument_from_pb(ev.instrument)


_CONVERTERS: Dict[Optional[str], Callable[[Any], Event]] = {
    "trade": _conv_trade,
    "quote": _conv_quote,
    "book": _conv_book,
    "order": _conv_order,
    "bar": _conv_bar,
    "status": _conv_status,
    "snapshot": _conv_snapshot,
    "instrument": _conv_instrument,
}


def event_from_pb(event: events_pb2.Event) -> Event:
    """One ``mdcap.v1.Event`` as a dataclass. Raises ValueError for an empty or unknown event."""
    convert = _CONVERTERS.get(event.WhichOneof("event"))
    if convert is None:
        raise ValueError(f"expected an mdcap.v1.Event holding an event, found {event.WhichOneof('event')!r}")
    return convert(event)


def events_of(batch: events_pb2.EventBatch) -> List[Event]:
    """The events of an ``EventBatch`` as dataclasses, in order. Events of a kind this client does not know are skipped."""
    convert = _CONVERTERS
    out: List[Event] = []
    append = out.append
    for ev in batch.events:
        c = convert.get(ev.WhichOneof("event"))
        if c is not None:
            append(c(ev))
    return out
