from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

AGGRESSOR_SIDE_BUY: AggressorSide
AGGRESSOR_SIDE_NONE: AggressorSide
AGGRESSOR_SIDE_SELL: AggressorSide
BOOK_SIDE_ASK: BookSide
BOOK_SIDE_BID: BookSide
DESCRIPTOR: _descriptor.FileDescriptor
ORDER_ACTION_ADD: OrderAction
ORDER_ACTION_CANCEL: OrderAction
ORDER_ACTION_CLEAR: OrderAction
ORDER_ACTION_FILL: OrderAction
ORDER_ACTION_MODIFY: OrderAction

class Bar(_message.Message):
    __slots__ = ["close", "end", "flags", "header", "high", "interval", "low", "open", "price_scale", "size_scale", "start", "trades", "volume"]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    PRICE_SCALE_FIELD_NUMBER: _ClassVar[int]
    SIZE_SCALE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    TRADES_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    close: int
    end: int
    flags: int
    header: Header
    high: int
    interval: int
    low: int
    open: int
    price_scale: int
    size_scale: int
    start: int
    trades: int
    volume: int
    def __init__(self, header: _Optional[_Union[Header, _Mapping]] = ..., interval: _Optional[int] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., open: _Optional[int] = ..., high: _Optional[int] = ..., low: _Optional[int] = ..., close: _Optional[int] = ..., volume: _Optional[int] = ..., trades: _Optional[int] = ..., price_scale: _Optional[int] = ..., size_scale: _Optional[int] = ..., flags: _Optional[int] = ...) -> None: ...

class BookSnapshot(_message.Message):
    __slots__ = ["asks", "bids", "header", "price_scale", "size_scale", "valid"]
    ASKS_FIELD_NUMBER: _ClassVar[int]
    BIDS_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    PRICE_SCALE_FIELD_NUMBER: _ClassVar[int]
    SIZE_SCALE_FIELD_NUMBER: _ClassVar[int]
    VALID_FIELD_NUMBER: _ClassVar[int]
    asks: _containers.RepeatedCompositeFieldContainer[Level]
    bids: _containers.RepeatedCompositeFieldContainer[Level]
    header: Header
    price_scale: int
    size_scale: int
    valid: bool
    def __init__(self, header: _Optional[_Union[Header, _Mapping]] = ..., valid: bool = ..., price_scale: _Optional[int] = ..., size_scale: _Optional[int] = ..., bids: _Optional[_Iterable[_Union[Level, _Mapping]]] = ..., asks: _Optional[_Iterable[_Union[Level, _Mapping]]] = ...) -> None: ...

class BookUpdate(_message.Message):
    __slots__ = ["flags", "header", "price", "price_scale", "side", "size", "size_scale"]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    PRICE_SCALE_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SIZE_SCALE_FIELD_NUMBER: _ClassVar[int]
    flags: int
    header: Header
    price: int
    price_scale: int
    side: BookSide
    size: int
    size_scale: int
    def __init__(self, header: _Optional[_Union[Header, _Mapping]] = ..., side: _Optional[_Union[BookSide, str]] = ..., price: _Optional[int] = ..., size: _Optional[int] = ..., price_scale: _Optional[int] = ..., size_scale: _Optional[int] = ..., flags: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ["bar", "book", "instrument", "order", "quote", "snapshot", "status", "trade"]
    BAR_FIELD_NUMBER: _ClassVar[int]
    BOOK_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TRADE_FIELD_NUMBER: _ClassVar[int]
    bar: Bar
    book: BookUpdate
    instrument: Instrument
    order: OrderUpdate
    quote: Quote
    snapshot: BookSnapshot
    status: Status
    trade: Trade
    def __init__(self, trade: _Optional[_Union[Trade, _Mapping]] = ..., quote: _Optional[_Union[Quote, _Mapping]] = ..., book: _Optional[_Union[BookUpdate, _Mapping]] = ..., order: _Optional[_Union[OrderUpdate, _Mapping]] = ..., bar: _Optional[_Union[Bar, _Mapping]] = ..., status: _Optional[_Union[Status, _Mapping]] = ..., snapshot: _Optional[_Union[BookSnapshot, _Mapping]] = ..., instrument: _Optional[_Union[Instrument, _Mapping]] = ...) -> None: ...

class EventBatch(_message.Message):
    __slots__ = ["dropped", "events"]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    dropped: int
    events: _containers.RepeatedCompositeFieldContainer[Event]
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., dropped: _Optional[int] = ...) -> None: ...

class Header(_message.Message):
    __slots__ = ["seq", "symbol", "ts_event", "ts_recv", "venue"]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    TS_EVENT_FIELD_NUMBER: _ClassVar[int]
    TS_RECV_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    seq: int
    symbol: str
    ts_event: int
    ts_recv: int
    venue: str
    def __init__(self, venue: _Optional[str] = ..., symbol: _Optional[str] = ..., ts_event: _Optional[int] = ..., ts_recv: _Optional[int] = ..., seq: _Optional[int] = ...) -> None: ...

class Instrument(_message.Message):
    __slots__ = ["base_currency", "expiry", "extra", "instrument_id", "kind", "lot_size", "min_size", "multiplier", "price_scale", "quote_currency", "size_scale", "symbol", "tick_size", "venue"]
    class ExtraEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BASE_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LOT_SIZE_FIELD_NUMBER: _ClassVar[int]
    MIN_SIZE_FIELD_NUMBER: _ClassVar[int]
    MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    PRICE_SCALE_FIELD_NUMBER: _ClassVar[int]
    QUOTE_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    SIZE_SCALE_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    TICK_SIZE_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    base_currency: str
    expiry: int
    extra: _containers.ScalarMap[str, str]
    instrument_id: int
    kind: str
    lot_size: int
    min_size: int
    multiplier: str
    price_scale: int
    quote_currency: str
    size_scale: int
    symbol: str
    tick_size: int
    venue: str
    def __init__(self, venue: _Optional[str] = ..., symbol: _Optional[str] = ..., price_scale: _Optional[int] = ..., size_scale: _Optional[int] = ..., kind: _Optional[str] = ..., tick_size: _Optional[int] = ..., lot_size: _Optional[int] = ..., min_size: _Optional[int] = ..., base_currency: _Optional[str] = ..., quote_currency: _Optional[str] = ..., multiplier: _Optional[str] = ..., expiry: _Optional[int] = ..., instrument_id: _Optional[int] = ..., extra: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Level(_message.Message):
    __slots__ = ["price", "size"]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    price: int
    size: int
    def __init__(self, price: _Optional[int] = ..., size: _Optional[int] = ...) -> None: ...

class OrderUpdate(_message.Message):
    __slots__ = ["action", "flags", "header", "order_id_big", "order_id_number", "order_id_text", "price", "price_scale", "side", "size", "size_scale"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_BIG_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_TEXT_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    PRICE_SCALE_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SIZE_SCALE_FIELD_NUMBER: _ClassVar[int]
    action: OrderAction
    flags: int
    header: Header
    order_id_big: str
    order_id_number: int
    order_id_text: str
    price: int
    price_scale: int
    side: BookSide
    size: int
    size_scale: int
    def __init__(self, header: _Optional[_Union[Header, _Mapping]] = ..., action: _Optional[_Union[OrderAction, str]] = ..., order_id_number: _Optional[int] = ..., order_id_text: _Optional[str] = ..., order_id_big: _Optional[str] = ..., side: _Optional[_Union[BookSide, str]] = ..., price: _Optional[int] = ..., size: _Optional[int] = ..., price_scale: _Optional[int] = ..., size_scale: _Optional[int] = ..., flags: _Optional[int] = ...) -> None: ...

class Quote(_message.Message):
    __slots__ = ["ask_price", "ask_size", "bid_price", "bid_size", "header", "price_scale", "size_scale"]
    ASK_PRICE_FIELD_NUMBER: _ClassVar[int]
    ASK_SIZE_FIELD_NUMBER: _ClassVar[int]
    BID_PRICE_FIELD_NUMBER: _ClassVar[int]
    BID_SIZE_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    PRICE_SCALE_FIELD_NUMBER: _ClassVar[int]
    SIZE_SCALE_FIELD_NUMBER: _ClassVar[int]
    ask_price: int
    ask_size: int
    bid_price: int
    bid_size: int
    header: Header
    price_scale: int
    size_scale: int
    def __init__(self, header: _Optional[_Union[Header, _Mapping]] = ..., bid_price: _Optional[int] = ..., bid_size: _Optional[int] = ..., ask_price: _Optional[int] = ..., ask_size: _Optional[int] = ..., price_scale: _Optional[int] = ..., size_scale: _Optional[int] = ...) -> None: ...

class Status(_message.Message):
    __slots__ = ["detail", "from_seq", "from_seq_big", "header", "kind", "ok", "to_seq", "to_seq_big"]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    FROM_SEQ_BIG_FIELD_NUMBER: _ClassVar[int]
    FROM_SEQ_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    TO_SEQ_BIG_FIELD_NUMBER: _ClassVar[int]
    TO_SEQ_FIELD_NUMBER: _ClassVar[int]
    detail: str
    from_seq: int
    from_seq_big: str
    header: Header
    kind: str
    ok: bool
    to_seq: int
    to_seq_big: str
    def __init__(self, header: _Optional[_Union[Header, _Mapping]] = ..., kind: _Optional[str] = ..., from_seq: _Optional[int] = ..., to_seq: _Optional[int] = ..., from_seq_big: _Optional[str] = ..., to_seq_big: _Optional[str] = ..., ok: bool = ..., detail: _Optional[str] = ...) -> None: ...

class Trade(_message.Message):
    __slots__ = ["header", "price", "price_scale", "side", "size", "size_scale", "trade_id"]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    PRICE_SCALE_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SIZE_SCALE_FIELD_NUMBER: _ClassVar[int]
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    header: Header
    price: int
    price_scale: int
    side: AggressorSide
    size: int
    size_scale: int
    trade_id: str
    def __init__(self, header: _Optional[_Union[Header, _Mapping]] = ..., price: _Optional[int] = ..., size: _Optional[int] = ..., price_scale: _Optional[int] = ..., size_scale: _Optional[int] = ..., side: _Optional[_Union[AggressorSide, str]] = ..., trade_id: _Optional[str] = ...) -> None: ...

class AggressorSide(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class BookSide(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class OrderAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
