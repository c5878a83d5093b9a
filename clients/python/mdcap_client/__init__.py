"""mdcap_client: the Python client of ``mdcap serve`` (live feeds and replayed captures over gRPC).

>>> import mdcap_client
>>> for e in mdcap_client.subscribe("127.0.0.1:50051", capture="demo", speed="10x", symbols=["AAPL"]):  # doctest: +SKIP
...     print(e)

Events are frozen dataclasses (:mod:`mdcap_client.events`) with exact ``decimal.Decimal`` prices
and sizes and int nanosecond timestamps; ``event.to_json()`` is the line ``mdcap replay --json``
prints. :func:`subscribe_batches` and :func:`subscribe_frames` are the fast paths (protobuf
batches; pandas/pyarrow tables). ``python -m mdcap_client --help`` is the command line.
"""

from .client import (
    DEFAULT_KINDS,
    KINDS,
    Client,
    Subscription,
    backtest,
    describe_capture,
    list_sources,
    stats,
    subscribe,
    subscribe_batches,
    subscribe_frames,
    subscribe_request,
)
from .convert import event_from_pb, events_of
from .errors import MdcapError
from .events import (
    Bar,
    BarFlags,
    BookFlags,
    BookSnapshot,
    BookUpdate,
    Event,
    Instrument,
    Level,
    MarketEvent,
    OrderUpdate,
    Quote,
    Status,
    Trade,
)
from .frames import FrameBuilder, decimal_column, to_frames
from .trading import BacktestResult, BacktestSummary, Broker, Fill, OrderState, Position
from .info import CaptureDescription, CaptureInfo, GapInfo, LatencyStats, LiveFeedInfo, SessionInfo, Sources, Stats, SubscriberStats

__version__ = "0.1.0"

__all__ = [
    "subscribe",
    "subscribe_batches",
    "subscribe_frames",
    "subscribe_request",
    "list_sources",
    "describe_capture",
    "stats",
    "backtest",
    "Broker",
    "OrderState",
    "Fill",
    "Position",
    "BacktestSummary",
    "BacktestResult",
    "Client",
    "Subscription",
    "MdcapError",
    "KINDS",
    "DEFAULT_KINDS",
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
    "events_of",
    "event_from_pb",
    "FrameBuilder",
    "to_frames",
    "decimal_column",
    "Sources",
    "LiveFeedInfo",
    "CaptureInfo",
    "CaptureDescription",
    "SessionInfo",
    "GapInfo",
    "Stats",
    "SubscriberStats",
    "LatencyStats",
]
