from . import events_pb2 as _events_pb2
from . import execution_pb2 as _execution_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
EVENT_KIND_BAR: EventKind
EVENT_KIND_BOOK: EventKind
EVENT_KIND_INSTRUMENT: EventKind
EVENT_KIND_ORDER: EventKind
EVENT_KIND_QUOTE: EventKind
EVENT_KIND_SNAPSHOT: EventKind
EVENT_KIND_STATUS: EventKind
EVENT_KIND_TRADE: EventKind
EVENT_KIND_UNSPECIFIED: EventKind
QUEUE_POLICY_BLOCK: QueuePolicy
QUEUE_POLICY_DISCONNECT: QueuePolicy
QUEUE_POLICY_DROP_OLDEST: QueuePolicy

class ActionResult(_message.Message):
    __slots__ = ["error_code", "error_message", "order", "window"]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    error_code: str
    error_message: str
    order: _execution_pb2.OrderState
    window: int
    def __init__(self, window: _Optional[int] = ..., order: _Optional[_Union[_execution_pb2.OrderState, _Mapping]] = ..., error_code: _Optional[str] = ..., error_message: _Optional[str] = ...) -> None: ...

class BrokerConfig(_message.Message):
    __slots__ = ["fees", "latency_ack_ns", "latency_entry_ns", "latency_feed_ns", "max_position", "queue_model", "queue_power", "seed", "symbol_fees", "venue_fees"]
    class MaxPositionEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class SymbolFeesEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: FeeRates
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[FeeRates, _Mapping]] = ...) -> None: ...
    class VenueFeesEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: FeeRates
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[FeeRates, _Mapping]] = ...) -> None: ...
    FEES_FIELD_NUMBER: _ClassVar[int]
    LATENCY_ACK_NS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_ENTRY_NS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FEED_NS_FIELD_NUMBER: _ClassVar[int]
    MAX_POSITION_FIELD_NUMBER: _ClassVar[int]
    QUEUE_MODEL_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POWER_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FEES_FIELD_NUMBER: _ClassVar[int]
    VENUE_FEES_FIELD_NUMBER: _ClassVar[int]
    fees: FeeRates
    latency_ack_ns: int
    latency_entry_ns: int
    latency_feed_ns: int
    max_position: _containers.ScalarMap[str, str]
    queue_model: str
    queue_power: int
    seed: int
    symbol_fees: _containers.MessageMap[str, FeeRates]
    venue_fees: _containers.MessageMap[str, FeeRates]
    def __init__(self, latency_entry_ns: _Optional[int] = ..., latency_ack_ns: _Optional[int] = ..., latency_feed_ns: _Optional[int] = ..., queue_model: _Optional[str] = ..., queue_power: _Optional[int] = ..., fees: _Optional[_Union[FeeRates, _Mapping]] = ..., venue_fees: _Optional[_Mapping[str, FeeRates]] = ..., symbol_fees: _Optional[_Mapping[str, FeeRates]] = ..., max_position: _Optional[_Mapping[str, str]] = ..., seed: _Optional[int] = ...) -> None: ...

class CaptureDescription(_message.Message):
    __slots__ = ["capture", "feed", "gaps", "instruments", "rows", "sessions", "symbols"]
    CAPTURE_FIELD_NUMBER: _ClassVar[int]
    FEED_FIELD_NUMBER: _ClassVar[int]
    GAPS_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENTS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    capture: str
    feed: str
    gaps: _containers.RepeatedCompositeFieldContainer[GapInfo]
    instruments: _containers.RepeatedCompositeFieldContainer[_events_pb2.Instrument]
    rows: int
    sessions: _containers.RepeatedCompositeFieldContainer[SessionInfo]
    symbols: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, capture: _Optional[str] = ..., feed: _Optional[str] = ..., symbols: _Optional[_Iterable[str]] = ..., sessions: _Optional[_Iterable[_Union[SessionInfo, _Mapping]]] = ..., instruments: _Optional[_Iterable[_Union[_events_pb2.Instrument, _Mapping]]] = ..., gaps: _Optional[_Iterable[_Union[GapInfo, _Mapping]]] = ..., rows: _Optional[int] = ...) -> None: ...

class CaptureInfo(_message.Message):
    __slots__ = ["capture", "end", "feed", "start", "symbols"]
    CAPTURE_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    FEED_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    capture: str
    end: int
    feed: str
    start: int
    symbols: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, capture: _Optional[str] = ..., feed: _Optional[str] = ..., symbols: _Optional[_Iterable[str]] = ..., start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class CaptureSource(_message.Message):
    __slots__ = ["capture", "speed", "symbols", "to"]
    CAPTURE_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    SPEED_FIELD_NUMBER: _ClassVar[int]
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    capture: str
    speed: str
    symbols: _containers.RepeatedScalarFieldContainer[str]
    to: int
    def __init__(self, capture: _Optional[str] = ..., speed: _Optional[str] = ..., to: _Optional[int] = ..., symbols: _Optional[_Iterable[str]] = ..., **kwargs) -> None: ...

class DescribeCaptureRequest(_message.Message):
    __slots__ = ["capture"]
    CAPTURE_FIELD_NUMBER: _ClassVar[int]
    capture: str
    def __init__(self, capture: _Optional[str] = ...) -> None: ...

class FeeRates(_message.Message):
    __slots__ = ["maker", "taker"]
    MAKER_FIELD_NUMBER: _ClassVar[int]
    TAKER_FIELD_NUMBER: _ClassVar[int]
    maker: str
    taker: str
    def __init__(self, maker: _Optional[str] = ..., taker: _Optional[str] = ...) -> None: ...

class GapInfo(_message.Message):
    __slots__ = ["detail", "kind", "symbol", "ts_recv", "venue"]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    TS_RECV_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    detail: str
    kind: str
    symbol: str
    ts_recv: int
    venue: str
    def __init__(self, venue: _Optional[str] = ..., symbol: _Optional[str] = ..., ts_recv: _Optional[int] = ..., kind: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class LatencyStats(_message.Message):
    __slots__ = ["count", "max", "p50", "p99", "p999", "stage"]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    P50_FIELD_NUMBER: _ClassVar[int]
    P999_FIELD_NUMBER: _ClassVar[int]
    P99_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    count: int
    max: int
    p50: int
    p99: int
    p999: int
    stage: str
    def __init__(self, stage: _Optional[str] = ..., count: _Optional[int] = ..., p50: _Optional[int] = ..., p99: _Optional[int] = ..., p999: _Optional[int] = ..., max: _Optional[int] = ...) -> None: ...

class ListSourcesRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListSourcesResponse(_message.Message):
    __slots__ = ["captures", "live"]
    CAPTURES_FIELD_NUMBER: _ClassVar[int]
    LIVE_FIELD_NUMBER: _ClassVar[int]
    captures: _containers.RepeatedCompositeFieldContainer[CaptureInfo]
    live: _containers.RepeatedCompositeFieldContainer[LiveFeedInfo]
    def __init__(self, live: _Optional[_Iterable[_Union[LiveFeedInfo, _Mapping]]] = ..., captures: _Optional[_Iterable[_Union[CaptureInfo, _Mapping]]] = ...) -> None: ...

class LiveFeedInfo(_message.Message):
    __slots__ = ["feed", "state", "symbols", "venue"]
    FEED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    feed: str
    state: str
    symbols: _containers.RepeatedScalarFieldContainer[str]
    venue: str
    def __init__(self, feed: _Optional[str] = ..., venue: _Optional[str] = ..., symbols: _Optional[_Iterable[str]] = ..., state: _Optional[str] = ...) -> None: ...

class LiveSource(_message.Message):
    __slots__ = ["feed", "symbols"]
    FEED_FIELD_NUMBER: _ClassVar[int]
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    feed: str
    symbols: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, feed: _Optional[str] = ..., symbols: _Optional[_Iterable[str]] = ...) -> None: ...

class SessionInfo(_message.Message):
    __slots__ = ["clean", "end", "feed", "id", "start"]
    CLEAN_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    FEED_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    clean: bool
    end: int
    feed: str
    id: int
    start: int
    def __init__(self, id: _Optional[int] = ..., feed: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., clean: bool = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = ["reset_latency"]
    RESET_LATENCY_FIELD_NUMBER: _ClassVar[int]
    reset_latency: bool
    def __init__(self, reset_latency: bool = ...) -> None: ...

class StatsResponse(_message.Message):
    __slots__ = ["latency", "rss_bytes", "subscribers"]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    RSS_BYTES_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBERS_FIELD_NUMBER: _ClassVar[int]
    latency: _containers.RepeatedCompositeFieldContainer[LatencyStats]
    rss_bytes: int
    subscribers: _containers.RepeatedCompositeFieldContainer[SubscriberStats]
    def __init__(self, subscribers: _Optional[_Iterable[_Union[SubscriberStats, _Mapping]]] = ..., latency: _Optional[_Iterable[_Union[LatencyStats, _Mapping]]] = ..., rss_bytes: _Optional[int] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ["bar_grace_ms", "bar_intervals", "bar_timestamp", "batch_events", "batch_micros", "book_cadence_ns", "book_depth", "capture", "kinds", "live", "policy", "queue_batches"]
    BAR_GRACE_MS_FIELD_NUMBER: _ClassVar[int]
    BAR_INTERVALS_FIELD_NUMBER: _ClassVar[int]
    BAR_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    BATCH_EVENTS_FIELD_NUMBER: _ClassVar[int]
    BATCH_MICROS_FIELD_NUMBER: _ClassVar[int]
    BOOK_CADENCE_NS_FIELD_NUMBER: _ClassVar[int]
    BOOK_DEPTH_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    LIVE_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    QUEUE_BATCHES_FIELD_NUMBER: _ClassVar[int]
    bar_grace_ms: int
    bar_intervals: _containers.RepeatedScalarFieldContainer[int]
    bar_timestamp: str
    batch_events: int
    batch_micros: int
    book_cadence_ns: int
    book_depth: int
    capture: CaptureSource
    kinds: _containers.RepeatedScalarFieldContainer[EventKind]
    live: LiveSource
    policy: QueuePolicy
    queue_batches: int
    def __init__(self, live: _Optional[_Union[LiveSource, _Mapping]] = ..., capture: _Optional[_Union[CaptureSource, _Mapping]] = ..., kinds: _Optional[_Iterable[_Union[EventKind, str]]] = ..., bar_intervals: _Optional[_Iterable[int]] = ..., book_depth: _Optional[int] = ..., book_cadence_ns: _Optional[int] = ..., policy: _Optional[_Union[QueuePolicy, str]] = ..., queue_batches: _Optional[int] = ..., batch_events: _Optional[int] = ..., batch_micros: _Optional[int] = ..., bar_grace_ms: _Optional[int] = ..., bar_timestamp: _Optional[str] = ...) -> None: ...

class SubscriberStats(_message.Message):
    __slots__ = ["batches_sent", "events_dropped", "events_sent", "id", "peer", "policy", "queued_batches", "queued_events", "source"]
    BATCHES_SENT_FIELD_NUMBER: _ClassVar[int]
    EVENTS_DROPPED_FIELD_NUMBER: _ClassVar[int]
    EVENTS_SENT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    QUEUED_BATCHES_FIELD_NUMBER: _ClassVar[int]
    QUEUED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    batches_sent: int
    events_dropped: int
    events_sent: int
    id: int
    peer: str
    policy: QueuePolicy
    queued_batches: int
    queued_events: int
    source: str
    def __init__(self, id: _Optional[int] = ..., source: _Optional[str] = ..., peer: _Optional[str] = ..., policy: _Optional[_Union[QueuePolicy, str]] = ..., events_sent: _Optional[int] = ..., batches_sent: _Optional[int] = ..., events_dropped: _Optional[int] = ..., queued_batches: _Optional[int] = ..., queued_events: _Optional[int] = ...) -> None: ...

class TradeItem(_message.Message):
    __slots__ = ["event", "fill", "order"]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    FILL_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    event: _events_pb2.Event
    fill: _execution_pb2.Fill
    order: _execution_pb2.OrderState
    def __init__(self, event: _Optional[_Union[_events_pb2.Event, _Mapping]] = ..., order: _Optional[_Union[_execution_pb2.OrderState, _Mapping]] = ..., fill: _Optional[_Union[_execution_pb2.Fill, _Mapping]] = ...) -> None: ...

class TradeRequest(_message.Message):
    __slots__ = ["cancel", "done", "replace", "start", "submit", "window"]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    SUBMIT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    cancel: _execution_pb2.CancelOrder
    done: WindowDone
    replace: _execution_pb2.ReplaceOrder
    start: TradeStart
    submit: _execution_pb2.OrderRequest
    window: int
    def __init__(self, window: _Optional[int] = ..., start: _Optional[_Union[TradeStart, _Mapping]] = ..., submit: _Optional[_Union[_execution_pb2.OrderRequest, _Mapping]] = ..., cancel: _Optional[_Union[_execution_pb2.CancelOrder, _Mapping]] = ..., replace: _Optional[_Union[_execution_pb2.ReplaceOrder, _Mapping]] = ..., done: _Optional[_Union[WindowDone, _Mapping]] = ...) -> None: ...

class TradeResponse(_message.Message):
    __slots__ = ["result", "summary", "window"]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    result: ActionResult
    summary: _execution_pb2.BacktestSummary
    window: TradeWindow
    def __init__(self, window: _Optional[_Union[TradeWindow, _Mapping]] = ..., result: _Optional[_Union[ActionResult, _Mapping]] = ..., summary: _Optional[_Union[_execution_pb2.BacktestSummary, _Mapping]] = ...) -> None: ...

class TradeStart(_message.Message):
    __slots__ = ["bar_grace_ms", "bar_intervals", "bar_timestamp", "book_depth", "broker", "capture", "decide_on", "equity_interval", "kinds"]
    BAR_GRACE_MS_FIELD_NUMBER: _ClassVar[int]
    BAR_INTERVALS_FIELD_NUMBER: _ClassVar[int]
    BAR_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    BOOK_DEPTH_FIELD_NUMBER: _ClassVar[int]
    BROKER_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_FIELD_NUMBER: _ClassVar[int]
    DECIDE_ON_FIELD_NUMBER: _ClassVar[int]
    EQUITY_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    bar_grace_ms: int
    bar_intervals: _containers.RepeatedScalarFieldContainer[int]
    bar_timestamp: str
    book_depth: int
    broker: BrokerConfig
    capture: CaptureSource
    decide_on: _containers.RepeatedScalarFieldContainer[EventKind]
    equity_interval: int
    kinds: _containers.RepeatedScalarFieldContainer[EventKind]
    def __init__(self, capture: _Optional[_Union[CaptureSource, _Mapping]] = ..., kinds: _Optional[_Iterable[_Union[EventKind, str]]] = ..., bar_intervals: _Optional[_Iterable[int]] = ..., book_depth: _Optional[int] = ..., decide_on: _Optional[_Iterable[_Union[EventKind, str]]] = ..., broker: _Optional[_Union[BrokerConfig, _Mapping]] = ..., equity_interval: _Optional[int] = ..., bar_grace_ms: _Optional[int] = ..., bar_timestamp: _Optional[str] = ...) -> None: ...

class TradeWindow(_message.Message):
    __slots__ = ["clock", "decide", "items", "seq"]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    DECIDE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    clock: int
    decide: bool
    items: _containers.RepeatedCompositeFieldContainer[TradeItem]
    seq: int
    def __init__(self, seq: _Optional[int] = ..., items: _Optional[_Iterable[_Union[TradeItem, _Mapping]]] = ..., clock: _Optional[int] = ..., decide: bool = ...) -> None: ...

class WindowDone(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class QueuePolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
