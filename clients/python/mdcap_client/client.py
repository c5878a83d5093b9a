"""The gRPC client of ``mdcap serve``: subscriptions as iterators, and the server's other calls.

>>> import mdcap_client
>>> for e in mdcap_client.subscribe("127.0.0.1:50051", capture="demo", speed="10x", symbols=["AAPL"]):  # doctest: +SKIP
...     print(e)

:func:`subscribe` yields events as dataclasses (:mod:`mdcap_client.events`);
:func:`subscribe_batches` yields the protobuf ``EventBatch`` messages as they arrive (the cheap
path: convert what you need with :func:`~mdcap_client.convert.events_of`, or columns with
:mod:`mdcap_client.frames`); :func:`subscribe_frames` yields a pandas DataFrame (or pyarrow
Table) per kind every ``rows`` events. Each returns a :class:`Subscription`: iterate it, and
close it (``with`` block, ``close()``, or just stop iterating and drop it) to cancel the call.

A :class:`Client` keeps one channel for several calls; the module-level functions open a
channel for one call and close it when the call ends.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, Dict, Generator, Iterable, Iterator, List, Optional, Sequence, Tuple, TypeVar, Union, cast

import grpc

from ._proto.mdcap.v1 import events_pb2, market_data_pb2, market_data_pb2_grpc
from ._request import KINDS, bad_option, bar_intervals, set_bar_options, set_capture, symbol_list
from .convert import events_of
from .errors import MdcapError
from .events import Event
from .frames import FrameBuilder, check_format
from .trading import BacktestResult, run_backtest, trade_start
from .info import QUEUE_POLICIES, CaptureDescription, Sources, Stats, description_from_pb, sources_from_pb, stats_from_pb

__all__ = [
    "Client",
    "Subscription",
    "subscribe",
    "subscribe_batches",
    "subscribe_frames",
    "subscribe_request",
    "list_sources",
    "describe_capture",
    "stats",
    "backtest",
    "KINDS",
    "DEFAULT_KINDS",
]

T = TypeVar("T")

_ALIASES = {"trades": "trade", "quotes": "quote", "orders": "order", "bars": "bar", "top": "snapshot", "snapshots": "snapshot", "instruments": "instrument"}
#: What the server streams when no kinds are given (bars only with bar intervals).
DEFAULT_KINDS: Tuple[str, ...] = ("trade", "quote", "book", "order", "bar", "status")

Address = str
Tls = Union[None, bool, str, bytes, "os.PathLike[str]"]

# Batches of 1024 events are ~100 KiB; leave room for big snapshots.
_CHANNEL_OPTIONS: List[Tuple[str, Any]] = [("grpc.max_receive_message_length", 256 << 20)]


def _kind_numbers(kinds: Union[None, str, Iterable[str]], depth: int, with_bars: bool) -> List[int]:
    if kinds is None:
        # With a depth and no kinds: the default kinds (bars only with intervals, which the
        # server requires of an explicit BAR) and the snapshots the depth asks for.
        wanted = [k for k in (*DEFAULT_KINDS, "snapshot") if k != "bar" or with_bars]
        return [KINDS[k] for k in wanted] if depth > 0 else []
    names = kinds.split(",") if isinstance(kinds, str) else list(kinds)
    out: List[int] = []
    for name in names:
        key = _ALIASES.get(name.strip(), name.strip())
        if key not in KINDS:
            raise bad_option("kinds", f"some of {', '.join(KINDS)}", name)
        out.append(KINDS[key])
    return out


def _speed_text(speed: Union[str, float, int, None]) -> str:
    if speed is None:
        return ""
    if isinstance(speed, (int, float)) and not isinstance(speed, bool):
        return f"{speed:g}x"
    return str(speed)


def subscribe_request(
    *,
    capture: Optional[str] = None,
    live: Optional[str] = None,
    speed: Union[str, float, None] = "max",
    symbols: Union[None, str, Sequence[str]] = None,
    kinds: Union[None, str, Iterable[str]] = None,
    bars: Union[None, int, Iterable[int]] = None,
    depth: int = 0,
    cadence_ns: int = 0,
    policy: str = "block",
    from_ns: Optional[int] = None,
    to_ns: Optional[int] = None,
    queue_batches: Optional[int] = None,
    batch_events: Optional[int] = None,
    batch_micros: Optional[int] = None,
    bar_grace_ms: Optional[int] = None,
    bar_timestamp: Optional[str] = None,
) -> market_data_pb2.SubscribeRequest:
    """The ``SubscribeRequest`` message of :func:`subscribe`'s arguments (see there).

    Only what cannot be put in the message is checked here (one source, known kind and policy
    names); the server checks the rest and says what is wrong.
    """
    if (capture is None) == (live is None):
        raise bad_option("source", "exactly one of capture= (a capture name) and live= (a feed name)", f"capture={capture!r}, live={live!r}")
    symbols = symbol_list(symbols)
    req = market_data_pb2.SubscribeRequest()
    if capture is not None:
        set_capture(req.capture, capture, _speed_text(speed), from_ns, to_ns, symbols)
    else:
        req.live.feed = str(live)
        req.live.symbols.extend(symbols or ())
        if from_ns is not None or to_ns is not None:
            raise bad_option("from_ns/to_ns", "a capture source (a live feed has no time range)", f"live={live!r}")
    intervals = bar_intervals(bars)
    req.kinds.extend(_kind_numbers(kinds, depth, len(intervals) > 0))
    req.bar_intervals.extend(intervals)
    req.book_depth = int(depth)
    req.book_cadence_ns = int(cadence_ns)
    if policy not in QUEUE_POLICIES:
        raise bad_option("policy", " or ".join(QUEUE_POLICIES), policy)
    req.policy = cast(Any, QUEUE_POLICIES[policy])  # the enum's number (the stubs type it as the enum class)
    if queue_batches is not None:
        req.queue_batches = int(queue_batches)
    if batch_events is not None:
        req.batch_events = int(batch_events)
    if batch_micros is not None:
        req.batch_micros = int(batch_micros)
    set_bar_options(req, bar_grace_ms, bar_timestamp)
    return req


class _StreamState:
    """What a subscription's generator and its owner share (never the owner itself, so dropping
    the iterator finalizes the generator at once, which cancels the call)."""

    __slots__ = ("call", "closed", "batches", "events", "dropped", "lock", "on_close")

    def __init__(self, on_close: Optional[Callable[[], None]]) -> None:
        self.call: Any = None
        self.closed = False
        self.batches = 0
        self.events = 0
        self.dropped = 0
        self.lock = threading.Lock()
        self.on_close = on_close

    def close(self) -> None:
        with self.lock:
            self.closed = True
            call, self.call = self.call, None
            on_close, self.on_close = self.on_close, None
        if call is not None:
            call.cancel()
        if on_close is not None:
            on_close()


def _stream(
    state: _StreamState,
    start: Callable[[], Any],
    convert: Callable[[Any], Iterable[T]],
    finish: Optional[Callable[[], Iterable[T]]],
) -> Generator[T, None, None]:
    try:
        with state.lock:
            if state.closed:
                return
            call = state.call = start()
        try:
            for batch in call:
                state.batches += 1
                state.events += len(batch.events)
                if batch.dropped:
                    state.dropped += batch.dropped
                yield from convert(batch)
        except grpc.RpcError as e:
            if state.closed:
                return  # we cancelled it
            raise MdcapError.from_rpc(e) from None
        if finish is not None:
            yield from finish()
    finally:
        state.close()


class Subscription(Iterator[T]):
    """A running ``Subscribe`` call: an iterator of events (or batches, or frames).

    The call starts at the first ``next()``. It ends when the server's data ends (iteration
    stops), on an error (:class:`MdcapError` from ``next()``), or when you close it: ``close()``
    (from any thread: the iterating thread then sees the end), the end of a ``with`` block, or
    dropping the iterator (``break`` out of a ``for`` loop over it).
    """

    def __init__(
        self,
        start: Callable[[], Any],
        convert: Callable[[Any], Iterable[T]],
        *,
        finish: Optional[Callable[[], Iterable[T]]] = None,
        on_close: Optional[Callable[[], None]] = None,
    ) -> None:
        self._state = _StreamState(on_close)
        self._gen = _stream(self._state, start, convert, finish)

    def __iter__(self) -> Iterator[T]:
        return self._gen

    def __next__(self) -> T:
        return next(self._gen)

    def __enter__(self) -> "Subscription[T]":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Cancels the call (if it runs) and releases its channel; iteration then stops. Idempotent."""
        self._state.close()
        try:
            self._gen.close()
        except ValueError:  # running in another thread: it stops at its next batch read
            pass

    cancel = close

    @property
    def batches(self) -> int:
        """Batches received so far."""
        return self._state.batches

    @property
    def events(self) -> int:
        """Events received so far (in those batches)."""
        return self._state.events

    @property
    def dropped(self) -> int:
        """Events the server dropped for this subscriber (policy ``drop-oldest``), as its batches said."""
        return self._state.dropped


def _credentials(tls: Tls) -> Optional[grpc.ChannelCredentials]:
    if tls is None or tls is False:
        return None
    if tls is True:
        return grpc.ssl_channel_credentials()
    if isinstance(tls, bytes):
        return grpc.ssl_channel_credentials(root_certificates=tls)
    with open(tls, "rb") as f:
        return grpc.ssl_channel_credentials(root_certificates=f.read())


class Client:
    """A channel to ``mdcap serve``, for several calls.

    Args:
        address: ``host:port`` of the server (``127.0.0.1:50051``).
        token: the server's ``--token``: sent as ``authorization: Bearer <token>`` on every call.
        tls: None/False for plain text (loopback); True for TLS with the system's root
            certificates; a path or PEM bytes of the root certificate to trust (a self-signed
            ``--tls-cert``).
        tls_server_name: the name to check the server's certificate against, when the address
            is not it (an IP address, say).
        options: extra gRPC channel options.

    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        address: Address,
        *,
        token: Optional[str] = None,
        tls: Tls = None,
        tls_server_name: Optional[str] = None,
        options: Sequence[Tuple[str, Any]] = (),
    ) -> None:
        opts = list(_CHANNEL_OPTIONS) + list(options)
        if tls_server_name is not None:
            opts.append(("grpc.ssl_target_name_override", tls_server_name))
        creds = _credentials(tls)
        self.address = address
        self._channel = grpc.insecure_channel(address, options=opts) if creds is None else grpc.secure_channel(address, creds, options=opts)
        self._stub = market_data_pb2_grpc.MarketDataStub(self._channel)
        self._metadata: Tuple[Tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()

    def close(self) -> None:
        """Closes the channel (cancelling its running calls)."""
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- subscriptions ---------------------------------------------------------------------

    def _subscribe(
        self,
        request: market_data_pb2.SubscribeRequest,
        timeout: Optional[float],
        convert: Callable[[Any], Iterable[T]],
        finish: Optional[Callable[[], Iterable[T]]] = None,
        on_close: Optional[Callable[[], None]] = None,
    ) -> Subscription[T]:
        def start() -> Any:
            return self._stub.Subscribe(request, timeout=timeout, metadata=self._metadata)

        return Subscription(start, convert, finish=finish, on_close=on_close)

    def subscribe(self, *, timeout: Optional[float] = None, **request: Any) -> Subscription[Event]:
        """Events as dataclasses; the arguments are :func:`subscribe`'s."""
        return self._subscribe(subscribe_request(**request), timeout, events_of)

    def subscribe_batches(self, *, timeout: Optional[float] = None, **request: Any) -> Subscription[events_pb2.EventBatch]:
        """The ``EventBatch`` messages as received; the arguments are :func:`subscribe`'s."""
        return self._subscribe(subscribe_request(**request), timeout, _one)

    def subscribe_frames(
        self, *, rows: int = 100_000, format: str = "pandas", timeout: Optional[float] = None, **request: Any
    ) -> Subscription[Dict[str, Any]]:
        """A dict of tables per kind (:mod:`mdcap_client.frames`) every ``rows`` events, and one for the rest at the end."""
        check_format(format)  # before the call: a bad format, or pandas/pyarrow missing
        convert, finish = _frames_of(rows, format)
        return self._subscribe(subscribe_request(**request), timeout, convert, finish)

    # --- backtests -------------------------------------------------------------------------

    def backtest(self, *, strategy: Any, timeout: Optional[float] = None, **start: Any) -> BacktestResult:
        """A backtest of ``strategy`` on a capture through the server's simulated venue (the Trade call).

        The arguments are :func:`backtest`'s. Returns when the run is over, with its summary,
        fills and order updates; raises :class:`MdcapError` when the server refuses the run, and
        whatever the strategy raises (the call is then cancelled).
        """
        return run_backtest(self._stub, self._metadata, strategy, trade_start(**start), timeout)

    # --- the other calls -------------------------------------------------------------------

    def _unary(self, method: Callable[..., Any], request: Any, timeout: Optional[float]) -> Any:
        try:
            return method(request, timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            raise MdcapError.from_rpc(e) from None

    def list_sources(self, *, timeout: Optional[float] = 30.0) -> Sources:
        """The live feeds the server runs and the captures it can replay."""
        return sources_from_pb(self._unary(self._stub.ListSources, market_data_pb2.ListSourcesRequest(), timeout))

    def describe_capture(self, capture: str, *, timeout: Optional[float] = 30.0) -> CaptureDescription:
        """Sessions, symbols, instruments (scales) and recorded gaps of a capture."""
        return description_from_pb(self._unary(self._stub.DescribeCapture, market_data_pb2.DescribeCaptureRequest(capture=capture), timeout))

    def stats(self, *, reset_latency: bool = False, timeout: Optional[float] = 30.0) -> Stats:
        """The server's subscribers, latency percentiles per stage and memory.

        With ``reset_latency`` the server starts its latency histograms afresh after answering,
        so the next call gives the percentiles of the interval in between.
        """
        request = market_data_pb2.StatsRequest(reset_latency=reset_latency)
        return stats_from_pb(self._unary(self._stub.Stats, request, timeout))


def _one(batch: T) -> Tuple[T]:
    return (batch,)


def _frames_of(rows: int, format: str) -> Tuple[Callable[[Any], Iterable[Dict[str, Any]]], Callable[[], Iterable[Dict[str, Any]]]]:
    """The convert and finish steps of a frames subscription: a dict of tables every ``rows`` events."""
    builder = FrameBuilder()

    def convert(batch: Any) -> Iterable[Dict[str, Any]]:
        builder.add(batch)
        return (builder.frames(format),) if builder.events >= rows else ()

    def finish() -> Iterable[Dict[str, Any]]:
        return (builder.frames(format),) if builder.events > 0 else ()

    return convert, finish


def _connect(address: Address, token: Optional[str], tls: Tls, tls_server_name: Optional[str]) -> Client:
    return Client(address, token=token, tls=tls, tls_server_name=tls_server_name)


def subscribe(
    address: Address,
    *,
    capture: Optional[str] = None,
    live: Optional[str] = None,
    speed: Union[str, float] = "max",
    symbols: Union[None, str, Sequence[str]] = None,
    kinds: Union[None, str, Iterable[str]] = None,
    bars: Union[None, int, Iterable[int]] = None,
    depth: int = 0,
    cadence_ns: int = 0,
    policy: str = "block",
    from_ns: Optional[int] = None,
    to_ns: Optional[int] = None,
    token: Optional[str] = None,
    tls: Tls = None,
    tls_server_name: Optional[str] = None,
    queue_batches: Optional[int] = None,
    batch_events: Optional[int] = None,
    batch_micros: Optional[int] = None,
    bar_grace_ms: Optional[int] = None,
    bar_timestamp: Optional[str] = None,
    timeout: Optional[float] = None,
) -> Subscription[Event]:
    """Subscribes to a capture replay or a live feed of ``mdcap serve``; iterate the result for events.

    Args:
        address: ``host:port`` of the server.
        capture: a capture to replay (a directory name under the server's ``--captures``), or
        live: a live feed the server runs (see :func:`list_sources`).
        speed: a replay's pace: ``"max"`` (as fast as the client reads) or a multiple of real
            time, ``"10x"``, ``"0.5x"`` (or the number 10).
        symbols: symbols to stream (a list, or ``"A,B"``; default all of the source's).
        kinds: what to stream: trade, quote, book, order, bar, status, snapshot, instrument
            (``mdcap replay --print`` names work too: trades, orders, top, …). Default: trade,
            quote, book, order, bar and status (plus snapshot when ``depth`` > 0), in the engine's
            callback order, like ``mdcap replay --json``.
        bars: bar intervals in seconds (``60`` or ``[60, 300]``); bars come only with intervals.
        depth: levels per side of book snapshots (kind snapshot), after every book or order
            event, or at most every ``cadence_ns`` per symbol.
        policy: when this client falls behind: ``"block"`` (a replay waits), ``"drop-oldest"``
            (batches are dropped, and a gap status says so; see ``Subscription.dropped``) or
            ``"disconnect"`` (the call ends with RESOURCE_EXHAUSTED).
        from_ns, to_ns: replay only events with ts_recv in ``[from_ns, to_ns)`` (ns since the epoch).
        token: the server's ``--token``.
        tls: TLS: True (system roots), or the root certificate (path or PEM bytes); see :class:`Client`.
        queue_batches, batch_events, batch_micros: the server's queue for this client and its
            batch size (defaults: 64 batches of up to 1024 events).
        bar_grace_ms, bar_timestamp: bars: grace for late trades, and ``"tsEvent"`` or ``"tsRecv"``.
        timeout: seconds for the whole call (default: none).

    Returns:
        A :class:`Subscription` of :mod:`~mdcap_client.events` dataclasses. Iteration raises
        :class:`MdcapError` when the server refuses the request or ends the stream with an
        error (``.code`` is the ``MDCAP_ERR_*`` code, ``.status`` the gRPC status).
    """
    request = subscribe_request(
        capture=capture, live=live, speed=speed, symbols=symbols, kinds=kinds, bars=bars, depth=depth,
        cadence_ns=cadence_ns, policy=policy, from_ns=from_ns, to_ns=to_ns, queue_batches=queue_batches,
        batch_events=batch_events, batch_micros=batch_micros, bar_grace_ms=bar_grace_ms, bar_timestamp=bar_timestamp,
    )  # fmt: skip
    client = _connect(address, token, tls, tls_server_name)
    return client._subscribe(request, timeout, events_of, on_close=client.close)


def subscribe_batches(
    address: Address,
    *,
    token: Optional[str] = None,
    tls: Tls = None,
    tls_server_name: Optional[str] = None,
    timeout: Optional[float] = None,
    **request: Any,
) -> Subscription[events_pb2.EventBatch]:
    """Like :func:`subscribe`, but yields the ``mdcap.v1.EventBatch`` messages as they arrive.

    The cheapest way to read a stream: no per-event Python objects are made. A batch holds
    ``events`` (each an ``mdcap.v1.Event`` with one of trade, quote, book, order, bar, status,
    snapshot, instrument set) and ``dropped`` (events lost before it, policy drop-oldest).
    Convert with :func:`mdcap_client.events_of` or :class:`mdcap_client.frames.FrameBuilder`.
    """
    req = subscribe_request(**request)
    client = _connect(address, token, tls, tls_server_name)
    return client._subscribe(req, timeout, _one, on_close=client.close)


def subscribe_frames(
    address: Address,
    *,
    rows: int = 100_000,
    format: str = "pandas",
    token: Optional[str] = None,
    tls: Tls = None,
    tls_server_name: Optional[str] = None,
    timeout: Optional[float] = None,
    **request: Any,
) -> Subscription[Dict[str, Any]]:
    """Like :func:`subscribe`, but yields ``{kind: table}`` dicts, each of about ``rows`` events.

    ``format`` is ``"pandas"`` (DataFrames), ``"arrow"`` (pyarrow Tables) or ``"columns"`` (dicts
    of lists); prices and sizes are exact integer mantissa columns beside their scales
    (:mod:`mdcap_client.frames` lists the columns).
    """
    check_format(format)
    req = subscribe_request(**request)
    client = _connect(address, token, tls, tls_server_name)
    convert, finish = _frames_of(rows, format)
    return client._subscribe(req, timeout, convert, finish, on_close=client.close)


def backtest(
    address: Address,
    *,
    strategy: Any,
    capture: str,
    token: Optional[str] = None,
    tls: Tls = None,
    tls_server_name: Optional[str] = None,
    timeout: Optional[float] = None,
    **start: Any,
) -> BacktestResult:
    """Backtests ``strategy`` on a capture of the server at ``address``, through its simulated venue.

    The server replays the capture and streams what the strategy sees, in the order and at the
    clock times a TypeScript strategy's callbacks see it; the strategy's orders take effect at
    the clock time of the callback that sent them (see :mod:`mdcap_client.trading`).

    Args:
        strategy: an object with some of ``on_trade``, ``on_quote``, ``on_book``,
            ``on_order_update``, ``on_bar``, ``on_status``, ``on_snapshot``, ``on_instrument``,
            ``on_order``, ``on_fill``; each is called with the item and the :class:`~mdcap_client.trading.Broker`.
        capture: a capture under the server's ``--captures``.
        symbols, from_ns, to_ns: what of it to replay (default: all).
        kinds, bars, depth: the market data streamed, as :func:`subscribe`'s (default trade,
            quote, book, order, bar, status).
        decide_on: the kinds whose callbacks may send orders (default: every kind streamed);
            others are sent ahead without waiting for the strategy. Own order updates and fills always may.
        latency: ``{"entry": ns, "ack": ns, "feed": ns}`` (ints; default 0 each).
        queue_model, queue_power: ``"conservative"`` (default) or ``"prob"`` (power 1 to 8).
        fees: ``{"maker": "-0.0001", "taker": "0.0003", "venues": {…}, "symbols": {…}}`` (Decimal or text).
        max_position: ``{"AAPL": "500", "*": "1000"}``.
        seed, interval: the seed of sampled latencies; seconds between equity points (default 60).

    Returns:
        A :class:`~mdcap_client.trading.BacktestResult`: ``summary``, ``fills``, ``orders``.
    """
    with Client(address, token=token, tls=tls, tls_server_name=tls_server_name) as c:
        return c.backtest(strategy=strategy, timeout=timeout, capture=capture, **start)


def list_sources(address: Address, *, token: Optional[str] = None, tls: Tls = None, timeout: Optional[float] = 30.0) -> Sources:
    """The live feeds and captures of the server at ``address`` (see :meth:`Client.list_sources`)."""
    with Client(address, token=token, tls=tls) as c:
        return c.list_sources(timeout=timeout)


def describe_capture(
    address: Address, capture: str, *, token: Optional[str] = None, tls: Tls = None, timeout: Optional[float] = 30.0
) -> CaptureDescription:
    """A capture's sessions, symbols, instruments and gaps (see :meth:`Client.describe_capture`)."""
    with Client(address, token=token, tls=tls) as c:
        return c.describe_capture(capture, timeout=timeout)


def stats(
    address: Address, *, reset_latency: bool = False, token: Optional[str] = None, tls: Tls = None, timeout: Optional[float] = 30.0
) -> Stats:
    """The server's subscribers, latency percentiles and memory (see :meth:`Client.stats`)."""
    with Client(address, token=token, tls=tls) as c:
        return c.stats(reset_latency=reset_latency, timeout=timeout)
