"""Backtests driven from Python: the ``Trade`` call of ``mdcap serve``.

The server replays a capture through its simulated venue (``@mdcap/backtest``) and streams what
a strategy sees, in order: market events, the strategy's own order updates and fills. The
strategy's orders take effect at the clock time of the callback that sent them, exactly as those
of the same strategy written in TypeScript and run in-process: same fills, same summary.

>>> class EveryFiftieth:  # doctest: +SKIP
...     n = 0
...     def on_trade(self, trade, broker):
...         self.n += 1
...         if self.n % 50 == 0:
...             broker.submit(trade.symbol, "buy", Decimal("100"), price=trade.price)
>>> result = mdcap_client.backtest("127.0.0.1:50051", capture="demo", symbols=["AAPL"], kinds=["trade"],  # doctest: +SKIP
...                                strategy=EveryFiftieth(), latency={"entry": 1_000_000})
>>> result.summary.pnl  # doctest: +SKIP
Decimal('-12.3456000')

A strategy is any object with some of these methods, each called with the item and the
:class:`Broker`: ``on_trade``, ``on_quote``, ``on_book`` (L2 updates), ``on_order_update`` (L3
updates), ``on_bar``, ``on_status``, ``on_snapshot``, ``on_instrument`` (market data), and
``on_order`` (its own order updates, :class:`OrderState`) and ``on_fill`` (:class:`Fill`).
Orders can be sent from the callbacks of the kinds named in ``decide_on`` (default: every kind
streamed) and from ``on_order`` / ``on_fill``; each call waits for the server's answer (a
submit returns the order as sent, after any reports it made at once went through the callbacks).

Prices and sizes are :class:`decimal.Decimal`, decimal text, or int mantissas at the book's
scales; never floats. Money (fees, PnL, cash) is a Decimal at its ``money_scale``.
"""

from __future__ import annotations

import dataclasses
import queue
import sys
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import grpc

from ._decimal import DECIMALS, mantissa_of
from ._proto.mdcap.v1 import execution_pb2, market_data_pb2
from ._request import KINDS, bad_option, bar_intervals, set_bar_options, set_capture, symbol_list
from .convert import event_from_pb
from .errors import MdcapError

__all__ = ["Broker", "OrderState", "Fill", "Position", "BacktestSummary", "BacktestResult", "trade_start", "run_backtest"]

_FROZEN: Dict[str, Any] = {"frozen": True, "slots": True} if sys.version_info >= (3, 10) else {"frozen": True}

_X = execution_pb2
_SIDES = {_X.ORDER_SIDE_BUY: "buy", _X.ORDER_SIDE_SELL: "sell"}
_SIDE_PB = {"buy": _X.ORDER_SIDE_BUY, "sell": _X.ORDER_SIDE_SELL}
_TYPES = {_X.ORDER_TYPE_MARKET: "market", _X.ORDER_TYPE_LIMIT: "limit"}
_TYPE_PB = {"market": _X.ORDER_TYPE_MARKET, "limit": _X.ORDER_TYPE_LIMIT}
_TIFS = {_X.TIME_IN_FORCE_GTC: "gtc", _X.TIME_IN_FORCE_IOC: "ioc", _X.TIME_IN_FORCE_FOK: "fok"}
_TIF_PB = {"gtc": _X.TIME_IN_FORCE_GTC, "ioc": _X.TIME_IN_FORCE_IOC, "fok": _X.TIME_IN_FORCE_FOK}
_STATUSES = {
    _X.ORDER_STATUS_PENDING: "pending",
    _X.ORDER_STATUS_OPEN: "open",
    _X.ORDER_STATUS_FILLED: "filled",
    _X.ORDER_STATUS_CANCELLED: "cancelled",
    _X.ORDER_STATUS_REJECTED: "rejected",
}
#: Item type name -> the strategy's method.
_METHODS = {
    "Trade": "on_trade",
    "Quote": "on_quote",
    "BookUpdate": "on_book",
    "OrderUpdate": "on_order_update",
    "Bar": "on_bar",
    "Status": "on_status",
    "BookSnapshot": "on_snapshot",
    "Instrument": "on_instrument",
}

Number = Union[Decimal, int, str]


def _money(text: str, scale: int) -> Decimal:
    return Decimal(f"{int(text or '0')}E-{scale}")


def _opt_money(present: bool, text: str, scale: int) -> Optional[Decimal]:
    return _money(text, scale) if present else None


@dataclass(**_FROZEN)
class OrderState:
    """One of the strategy's orders after a change (``OrderState`` of @mdcap/core).

    ``status`` is pending, open, filled, cancelled or rejected; ``reject`` the reason when the
    order (or a cancel or replace of it) was refused (tick-size, post-only-would-cross, too-late,
    …), else None. Prices and sizes are Decimals at the book's scales.
    """

    id: int
    client_id: Optional[str]
    venue: str
    symbol: str
    side: str
    type: str
    tif: str
    post_only: bool
    price: Optional[Decimal]
    size: Decimal
    filled: Decimal
    price_scale: int
    size_scale: int
    status: str
    reject: Optional[str]
    detail: str
    ts_submit: int
    ts_venue: int
    ts_recv: int
    queue_ahead: Optional[Decimal]

    @property
    def is_open(self) -> bool:
        """Pending or open: not final yet."""
        return self.status in ("pending", "open")


@dataclass(**_FROZEN)
class Fill:
    """One execution of one of the strategy's orders (``Fill`` of @mdcap/core).

    ``fee`` is money at ``money_scale`` (negative: a rebate); ``position`` the symbol's signed
    position after the fill.
    """

    fill_id: int
    order_id: int
    client_id: Optional[str]
    venue: str
    symbol: str
    side: str
    price: Decimal
    size: Decimal
    price_scale: int
    size_scale: int
    liquidity: str
    fee: Decimal
    money_scale: int
    position: Decimal
    ts_venue: int
    ts_recv: int

    @property
    def price_mantissa(self) -> int:
        return mantissa_of(self.price, self.price_scale)

    @property
    def size_mantissa(self) -> int:
        return mantissa_of(self.size, self.size_scale)

    @property
    def fee_mantissa(self) -> int:
        return mantissa_of(self.fee, self.money_scale)


@dataclass(**_FROZEN)
class Position:
    """A symbol's position and money at the end of the run; money at ``money_scale``."""

    venue: str
    symbol: str
    size: Decimal
    money_scale: int
    cash: Decimal
    realized: Decimal
    unrealized: Decimal
    fees: Decimal
    pnl: Decimal
    mark: Optional[Decimal]
    bought: Decimal
    sold: Decimal
    turnover: Decimal


@dataclass(**_FROZEN)
class BacktestSummary:
    """What the run did: money exact (Decimals at ``money_scale``), Sharpe and fill ratio as floats (statistics)."""

    start: Optional[int]
    end: Optional[int]
    interval: int
    money_scale: int
    pnl: Decimal
    realized: Decimal
    unrealized: Decimal
    fees: Decimal
    turnover: Decimal
    max_drawdown: Decimal
    sharpe: Optional[float]
    orders: int
    rejected: int
    cancelled: int
    fills: int
    maker_fills: int
    taker_fills: int
    fill_ratio: Optional[float]
    positions: Tuple[Position, ...]


@dataclass
class BacktestResult:
    """The summary, and every fill and order update the strategy received, in order."""

    summary: BacktestSummary
    fills: List[Fill]
    orders: List[OrderState]


def _order_from_pb(m: Any) -> OrderState:
    ps, ss = m.price_scale, m.size_scale
    return OrderState(
        id=m.id,
        client_id=m.client_id if m.HasField("client_id") else None,
        venue=m.venue,
        symbol=m.symbol,
        side=_SIDES.get(m.side, "buy"),
        type=_TYPES.get(m.type, "limit"),
        tif=_TIFS.get(m.tif, "gtc"),
        post_only=m.post_only,
        price=DECIMALS[ps][m.price] if m.HasField("price") else None,
        size=DECIMALS[ss][m.size],
        filled=DECIMALS[ss][m.filled],
        price_scale=ps,
        size_scale=ss,
        status=_STATUSES.get(m.status, "pending"),
        reject=m.reject or None,
        detail=m.detail,
        ts_submit=m.ts_submit,
        ts_venue=m.ts_venue,
        ts_recv=m.ts_recv,
        queue_ahead=DECIMALS[ss][m.queue_ahead] if m.HasField("queue_ahead") else None,
    )


def _fill_from_pb(m: Any) -> Fill:
    ps, ss = m.price_scale, m.size_scale
    return Fill(
        fill_id=m.fill_id,
        order_id=m.order_id,
        client_id=m.client_id if m.HasField("client_id") else None,
        venue=m.venue,
        symbol=m.symbol,
        side=_SIDES.get(m.side, "buy"),
        price=DECIMALS[ps][m.price],
        size=DECIMALS[ss][m.size],
        price_scale=ps,
        size_scale=ss,
        liquidity="taker" if m.liquidity == _X.LIQUIDITY_TAKER else "maker",
        fee=_money(m.fee, m.money_scale),
        money_scale=m.money_scale,
        position=DECIMALS[ss][m.position],
        ts_venue=m.ts_venue,
        ts_recv=m.ts_recv,
    )


def _summary_from_pb(m: Any) -> BacktestSummary:
    s = m.money_scale
    positions = tuple(
        Position(
            venue=p.venue,
            symbol=p.symbol,
            size=DECIMALS[p.size_scale][p.size],
            money_scale=p.money_scale,
            cash=_money(p.cash, p.money_scale),
            realized=_money(p.realized, p.money_scale),
            unrealized=_money(p.unrealized, p.money_scale),
            fees=_money(p.fees, p.money_scale),
            pnl=_money(p.pnl, p.money_scale),
            mark=_opt_money(p.HasField("mark"), p.mark, p.money_scale - p.size_scale),
            bought=DECIMALS[p.size_scale][p.bought],
            sold=DECIMALS[p.size_scale][p.sold],
            turnover=_money(p.turnover, p.money_scale),
        )
        for p in m.positions
    )
    return BacktestSummary(
        start=m.start if m.HasField("start") else None,
        end=m.end if m.HasField("end") else None,
        interval=m.interval,
        money_scale=s,
        pnl=_money(m.pnl, s),
        realized=_money(m.realized, s),
        unrealized=_money(m.unrealized, s),
        fees=_money(m.fees, s),
        turnover=_money(m.turnover, s),
        max_drawdown=_money(m.max_drawdown, s),
        sharpe=m.sharpe if m.HasField("sharpe") else None,
        orders=m.orders,
        rejected=m.rejected,
        cancelled=m.cancelled,
        fills=m.fills,
        maker_fills=m.maker_fills,
        taker_fills=m.taker_fills,
        fill_ratio=m.fill_ratio if m.HasField("fill_ratio") else None,
        positions=positions,
    )


def _set_number(msg: Any, mantissa_field: str, text_field: str, value: Number, what: str) -> None:
    """A price or size: an int is a mantissa at the book's scale, a Decimal or str is decimal text."""
    if isinstance(value, bool) or isinstance(value, float):
        raise MdcapError(
            "MDCAP_ERR_INVALID_ORDER",
            f"order {what}: expected a Decimal, decimal text or an int mantissa (never a float), found {value!r}",
            grpc.StatusCode.INVALID_ARGUMENT,
        )
    if isinstance(value, int):
        setattr(msg, mantissa_field, value)
    elif isinstance(value, Decimal):
        setattr(msg, text_field, format(value, "f"))
    elif isinstance(value, str):
        setattr(msg, text_field, value)
    else:
        raise MdcapError(
            "MDCAP_ERR_INVALID_ORDER", f"order {what}: expected a Decimal, decimal text or an int mantissa, found {value!r}", grpc.StatusCode.INVALID_ARGUMENT
        )


def _rates(msg: Any, rates: Optional[Mapping[str, Any]], what: str) -> None:
    for key in ("maker", "taker"):
        value = None if rates is None else rates.get(key)
        if value is None:
            continue
        if isinstance(value, float):
            raise bad_option(f"{what}.{key}", "a Decimal or decimal text (never a float)", value)
        setattr(msg, key, format(value, "f") if isinstance(value, Decimal) else str(value))


def _kinds(names: Optional[Iterable[str]], what: str) -> List[int]:
    out: List[int] = []
    for name in names or ():
        if name not in KINDS:
            raise bad_option(what, f"some of {', '.join(KINDS)}", name)
        out.append(KINDS[name])
    return out


def trade_start(
    *,
    capture: str,
    symbols: Union[None, str, Sequence[str]] = None,
    from_ns: Optional[int] = None,
    to_ns: Optional[int] = None,
    kinds: Optional[Iterable[str]] = None,
    bars: Union[None, int, Iterable[int]] = None,
    depth: int = 0,
    decide_on: Optional[Iterable[str]] = None,
    latency: Optional[Mapping[str, int]] = None,
    queue_model: Optional[str] = None,
    queue_power: Optional[int] = None,
    fees: Optional[Mapping[str, Any]] = None,
    max_position: Optional[Mapping[str, Union[Decimal, str]]] = None,
    seed: Optional[int] = None,
    interval: Optional[int] = None,
    bar_grace_ms: Optional[int] = None,
    bar_timestamp: Optional[str] = None,
) -> market_data_pb2.TradeRequest:
    """The first request of a Trade call (see :func:`run_backtest` for the arguments)."""
    req = market_data_pb2.TradeRequest()
    s = req.start
    set_capture(s.capture, capture, "max", from_ns, to_ns, symbol_list(symbols))
    s.kinds.extend(_kinds(kinds, "kinds"))
    s.bar_intervals.extend(bar_intervals(bars))
    s.book_depth = int(depth)
    s.decide_on.extend(_kinds(decide_on, "decide_on"))
    b = s.broker
    for key in latency or {}:
        if key not in ("entry", "ack", "feed"):
            raise bad_option("latency", "keys entry, ack and feed (ns)", key)
    b.latency_entry_ns = int((latency or {}).get("entry", 0))
    b.latency_ack_ns = int((latency or {}).get("ack", 0))
    b.latency_feed_ns = int((latency or {}).get("feed", 0))
    if queue_model is not None:
        b.queue_model = queue_model
    if queue_power is not None:
        b.queue_power = int(queue_power)
    _rates(b.fees, fees, "fees")
    for key, per in (fees or {}).get("venues", {}).items():
        _rates(b.venue_fees[key], per, f"fees.venues[{key}]")
    for key, per in (fees or {}).get("symbols", {}).items():
        _rates(b.symbol_fees[key], per, f"fees.symbols[{key}]")
    for key, value in (max_position or {}).items():
        b.max_position[key] = format(value, "f") if isinstance(value, Decimal) else str(value)
    if seed is not None:
        b.seed = int(seed)
    if interval is not None:
        s.equity_interval = int(interval)
    set_bar_options(s, bar_grace_ms, bar_timestamp)
    return req


class _Protocol(Exception):
    pass


class _Call:
    """One Trade call: requests go out through a queue, responses are read in turn."""

    def __init__(self, stub: Any, metadata: Sequence[Tuple[str, str]], timeout: Optional[float]) -> None:
        self._requests: "queue.Queue[Optional[market_data_pb2.TradeRequest]]" = queue.Queue()
        self._call = stub.Trade(self._iterate(), timeout=timeout, metadata=metadata)

    def _iterate(self) -> Iterator[market_data_pb2.TradeRequest]:
        while True:
            r = self._requests.get()
            if r is None:
                return
            yield r

    def send(self, request: market_data_pb2.TradeRequest) -> None:
        self._requests.put(request)

    def next(self) -> Any:
        try:
            return next(self._call)
        except StopIteration:
            raise MdcapError("MDCAP_ERR_PROTOCOL", "expected the Trade call to go on until its summary, found its end") from None

    def close(self, done: bool) -> None:
        self._requests.put(None)
        if not done:
            self._call.cancel()


class Broker:
    """The strategy's handle on the simulated venue, passed to every callback.

    ``submit``, ``cancel`` and ``replace`` work in the callback of an item that ends a window
    (``can_trade``): a ``decide_on`` kind, an order update or a fill. The rest is what the
    strategy has been told so far: ``orders`` (the latest state of each), ``fills``,
    ``position()``.
    """

    def __init__(self, call: _Call, on_item: Callable[[Any], None]) -> None:
        self._call = call
        self._on_window = on_item
        self._window = 0
        self._can_trade = False
        #: The clock (ns) of the item being handled: what is sent now is sent at this time.
        self.now = 0
        #: The latest state of every order, by id.
        self.orders: Dict[int, OrderState] = {}
        #: Every fill so far, in order.
        self.fills: List[Fill] = []
        self._positions: Dict[Tuple[str, str], Decimal] = {}

    @property
    def can_trade(self) -> bool:
        """True in a callback that may send orders."""
        return self._can_trade

    def open_orders(self, symbol: Optional[str] = None) -> List[OrderState]:
        """Orders not final yet (pending or open), oldest first; of one symbol if given."""
        return [o for o in sorted(self.orders.values(), key=lambda o: o.id) if o.is_open and (symbol is None or o.symbol == symbol)]

    def position(self, symbol: str, venue: Optional[str] = None) -> Decimal:
        """The signed position of a symbol after its last fill (0 before any)."""
        for (v, s), size in self._positions.items():
            if s == symbol and (venue is None or v == venue):
                return size
        return Decimal(0)

    def submit(
        self,
        symbol: str,
        side: str,
        size: Number,
        price: Optional[Number] = None,
        *,
        type: Optional[str] = None,
        tif: Optional[str] = None,
        post_only: bool = False,
        client_id: Optional[str] = None,
        venue: Optional[str] = None,
    ) -> OrderState:
        """Sends an order: a limit order with a price, else a market order (``type`` says otherwise).

        Returns the order as sent: ``pending``, or already ``rejected`` (unknown symbol, no book
        yet, more fraction digits than the book's scale). Raises :class:`MdcapError`
        ``MDCAP_ERR_INVALID_ORDER`` for a malformed request (as ``broker.submit`` throws in TypeScript).
        """
        m = execution_pb2.OrderRequest(symbol=symbol, venue=venue or "", post_only=post_only, client_id=client_id or "")
        if side not in _SIDE_PB:
            raise MdcapError("MDCAP_ERR_INVALID_ORDER", f"order side: expected buy or sell, found {side!r}", grpc.StatusCode.INVALID_ARGUMENT)
        m.side = _SIDE_PB[side]
        if type is not None:
            if type not in _TYPE_PB:
                raise MdcapError("MDCAP_ERR_INVALID_ORDER", f"order type: expected market or limit, found {type!r}", grpc.StatusCode.INVALID_ARGUMENT)
            m.type = _TYPE_PB[type]
        if tif is not None:
            if tif not in _TIF_PB:
                raise MdcapError("MDCAP_ERR_INVALID_ORDER", f"order tif: expected gtc, ioc or fok, found {tif!r}", grpc.StatusCode.INVALID_ARGUMENT)
            m.tif = _TIF_PB[tif]
        _set_number(m, "size_mantissa", "size_text", size, "size")
        if price is not None:
            _set_number(m, "price_mantissa", "price_text", price, "price")
        req = market_data_pb2.TradeRequest()
        req.submit.CopyFrom(m)
        result = self._act(req)
        order = _order_from_pb(result.order)
        self.orders[order.id] = order
        return order

    def cancel(self, order_id: int) -> None:
        """Asks the venue to cancel; one that comes too late is answered by an update with reject ``too-late``."""
        req = market_data_pb2.TradeRequest()
        req.cancel.order_id = int(order_id)
        self._act(req)

    def replace(self, order_id: int, *, price: Optional[Number] = None, size: Optional[Number] = None) -> None:
        """Asks the venue for a new price and/or size (a new price or a larger size loses the queue place)."""
        req = market_data_pb2.TradeRequest()
        req.replace.order_id = int(order_id)
        if price is not None:
            _set_number(req.replace, "price_mantissa", "price_text", price, "price")
        if size is not None:
            _set_number(req.replace, "size_mantissa", "size_text", size, "size")
        self._act(req)

    def _act(self, req: market_data_pb2.TradeRequest) -> Any:
        if not self._can_trade:
            raise MdcapError(
                "MDCAP_ERR_INVALID_ORDER",
                "orders: expected a call from the callback of an item that ends a window (a decide_on kind, an order update or a fill), found one from elsewhere",
                grpc.StatusCode.FAILED_PRECONDITION,
            )
        window, now = self._window, self.now
        req.window = window
        self._call.send(req)
        while True:
            m = self._call.next()
            kind = m.WhichOneof("response")
            if kind == "window":
                self._on_window(m.window)
                # Back in this callback: its window is the one answered again.
                self._window, self._can_trade, self.now = window, True, now
            elif kind == "result":
                r = m.result
                if r.window != window:
                    raise _Protocol(f"expected the result of a request of window {window}, found one of window {r.window}")
                if r.error_code:
                    raise MdcapError(r.error_code, r.error_message, grpc.StatusCode.INVALID_ARGUMENT)
                return r
            else:
                raise _Protocol(f"expected the result of a request of window {window}, found {kind}")


def run_backtest(stub: Any, metadata: Sequence[Tuple[str, str]], strategy: Any, request: market_data_pb2.TradeRequest, timeout: Optional[float]) -> BacktestResult:
    """Runs a Trade call to its summary with ``strategy``'s callbacks (what :meth:`Client.backtest` does)."""
    call = _Call(stub, metadata, timeout)
    orders: List[OrderState] = []
    fills: List[Fill] = []
    methods: Dict[str, Optional[Callable[..., Any]]] = {}

    def method(name: str) -> Optional[Callable[..., Any]]:
        if name not in methods:
            fn = getattr(strategy, name, None)
            methods[name] = fn if callable(fn) else None
        return methods[name]

    def run_window(w: Any) -> None:
        n = len(w.items)
        for i, item in enumerate(w.items):
            broker._window = w.seq
            broker._can_trade = w.decide and i == n - 1
            broker.now = w.clock
            kind = item.WhichOneof("item")
            try:
                if kind == "order":
                    o = _order_from_pb(item.order)
                    orders.append(o)
                    broker.orders[o.id] = o
                    fn = method("on_order")
                    if fn is not None:
                        fn(o, broker)
                elif kind == "fill":
                    f = _fill_from_pb(item.fill)
                    fills.append(f)
                    broker.fills.append(f)
                    broker._positions[(f.venue, f.symbol)] = f.position
                    known = broker.orders.get(f.order_id)
                    if known is not None:
                        broker.orders[f.order_id] = _with_fill(known, f)
                    fn = method("on_fill")
                    if fn is not None:
                        fn(f, broker)
                elif kind == "event":
                    e = event_from_pb(item.event)
                    fn = method(_METHODS.get(type(e).__name__, ""))
                    if fn is not None:
                        fn(e, broker)
            finally:
                broker._can_trade = False
        if w.decide:
            req = market_data_pb2.TradeRequest(window=w.seq)
            req.done.SetInParent()
            call.send(req)

    broker = Broker(call, run_window)
    done = False
    try:
        call.send(request)
        while True:
            m = call.next()
            kind = m.WhichOneof("response")
            if kind == "window":
                run_window(m.window)
            elif kind == "summary":
                done = True
                return BacktestResult(summary=_summary_from_pb(m.summary), fills=fills, orders=orders)
            else:
                raise _Protocol(f"expected a window or the summary, found {kind}")
    except grpc.RpcError as e:
        raise MdcapError.from_rpc(e) from None
    except _Protocol as e:
        raise MdcapError("MDCAP_ERR_PROTOCOL", str(e)) from None
    finally:
        call.close(done)


def _with_fill(o: OrderState, f: Fill) -> OrderState:
    """An order's state with a fill counted (as the TypeScript broker's ``order()`` is)."""
    return dataclasses.replace(o, filled=o.filled + f.size, ts_recv=f.ts_recv)

