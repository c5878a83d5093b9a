from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
LIQUIDITY_MAKER: Liquidity
LIQUIDITY_TAKER: Liquidity
ORDER_SIDE_BUY: OrderSide
ORDER_SIDE_SELL: OrderSide
ORDER_SIDE_UNSPECIFIED: OrderSide
ORDER_STATUS_CANCELLED: OrderStatus
ORDER_STATUS_FILLED: OrderStatus
ORDER_STATUS_OPEN: OrderStatus
ORDER_STATUS_PENDING: OrderStatus
ORDER_STATUS_REJECTED: OrderStatus
ORDER_TYPE_LIMIT: OrderType
ORDER_TYPE_MARKET: OrderType
ORDER_TYPE_UNSPECIFIED: OrderType
TIME_IN_FORCE_FOK: TimeInForce
TIME_IN_FORCE_GTC: TimeInForce
TIME_IN_FORCE_IOC: TimeInForce
TIME_IN_FORCE_UNSPECIFIED: TimeInForce

class BacktestSummary(_message.Message):
    __slots__ = ["cancelled", "end", "fees", "fill_ratio", "fills", "interval", "maker_fills", "max_drawdown", "money_scale", "orders", "pnl", "positions", "realized", "rejected", "sharpe", "start", "taker_fills", "turnover", "unrealized"]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    FEES_FIELD_NUMBER: _ClassVar[int]
    FILLS_FIELD_NUMBER: _ClassVar[int]
    FILL_RATIO_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    MAKER_FILLS_FIELD_NUMBER: _ClassVar[int]
    MAX_DRAWDOWN_FIELD_NUMBER: _ClassVar[int]
    MONEY_SCALE_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    PNL_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    REALIZED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    SHARPE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    TAKER_FILLS_FIELD_NUMBER: _ClassVar[int]
    TURNOVER_FIELD_NUMBER: _ClassVar[int]
    UNREALIZED_FIELD_NUMBER: _ClassVar[int]
    cancelled: int
    end: int
    fees: str
    fill_ratio: float
    fills: int
    interval: int
    maker_fills: int
    max_drawdown: str
    money_scale: int
    orders: int
    pnl: str
    positions: _containers.RepeatedCompositeFieldContainer[Position]
    realized: str
    rejected: int
    sharpe: float
    start: int
    taker_fills: int
    turnover: str
    unrealized: str
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ..., interval: _Optional[int] = ..., money_scale: _Optional[int] = ..., pnl: _Optional[str] = ..., realized: _Optional[str] = ..., unrealized: _Optional[str] = ..., fees: _Optional[str] = ..., turnover: _Optional[str] = ..., max_drawdown: _Optional[str] = ..., sharpe: _Optional[float] = ..., orders: _Optional[int] = ..., rejected: _Optional[int] = ..., cancelled: _Optional[int] = ..., fills: _Optional[int] = ..., maker_fills: _Optional[int] = ..., taker_fills: _Optional[int] = ..., fill_ratio: _Optional[float] = ..., positions: _Optional[_Iterable[_Union[Position, _Mapping]]] = ...) -> None: ...

class CancelOrder(_message.Message):
    __slots__ = ["order_id"]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: int
    def __init__(self, order_id: _Optional[int] = ...) -> None: ...

class Fill(_message.Message):
    __slots__ = ["client_id", "fee", "fill_id", "liquidity", "money_scale", "order_id", "position", "price", "price_scale", "side", "size", "size_scale", "symbol", "ts_recv", "ts_venue", "venue"]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    FEE_FIELD_NUMBER: _ClassVar[int]
    FILL_ID_FIELD_NUMBER: _ClassVar[int]
    LIQUIDITY_FIELD_NUMBER: _ClassVar[int]
    MONEY_SCALE_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    PRICE_SCALE_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SIZE_SCALE_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    TS_RECV_FIELD_NUMBER: _ClassVar[int]
    TS_VENUE_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    fee: str
    fill_id: int
    liquidity: Liquidity
    money_scale: int
    order_id: int
    position: int
    price: int
    price_scale: int
    side: OrderSide
    size: int
    size_scale: int
    symbol: str
    ts_recv: int
    ts_venue: int
    venue: str
    def __init__(self, fill_id: _Optional[int] = ..., order_id: _Optional[int] = ..., client_id: _Optional[str] = ..., venue: _Optional[str] = ..., symbol: _Optional[str] = ..., side: _Optional[_Union[OrderSide, str]] = ..., price: _Optional[int] = ..., size: _Optional[int] = ..., price_scale: _Optional[int] = ..., size_scale: _Optional[int] = ..., liquidity: _Optional[_Union[Liquidity, str]] = ..., fee: _Optional[str] = ..., money_scale: _Optional[int] = ..., position: _Optional[int] = ..., ts_venue: _Optional[int] = ..., ts_recv: _Optional[int] = ...) -> None: ...

class OrderRequest(_message.Message):
    __slots__ = ["client_id", "post_only", "price_mantissa", "price_text", "side", "size_mantissa", "size_text", "symbol", "tif", "type", "venue"]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    POST_ONLY_FIELD_NUMBER: _ClassVar[int]
    PRICE_MANTISSA_FIELD_NUMBER: _ClassVar[int]
    PRICE_TEXT_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    SIZE_MANTISSA_FIELD_NUMBER: _ClassVar[int]
    SIZE_TEXT_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    TIF_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    post_only: bool
    price_mantissa: int
    price_text: str
    side: OrderSide
    size_mantissa: int
    size_text: str
    symbol: str
    tif: TimeInForce
    type: OrderType
    venue: str
    def __init__(self, symbol: _Optional[str] = ..., venue: _Optional[str] = ..., side: _Optional[_Union[OrderSide, str]] = ..., type: _Optional[_Union[OrderType, str]] = ..., price_mantissa: _Optional[int] = ..., price_text: _Optional[str] = ..., size_mantissa: _Optional[int] = ..., size_text: _Optional[str] = ..., tif: _Optional[_Union[TimeInForce, str]] = ..., post_only: bool = ..., client_id: _Optional[str] = ...) -> None: ...

class OrderState(_message.Message):
    __slots__ = ["client_id", "detail", "filled", "id", "post_only", "price", "price_scale", "queue_ahead", "reject", "side", "size", "size_scale", "status", "symbol", "tif", "ts_recv", "ts_submit", "ts_venue", "type", "venue"]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    FILLED_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    POST_ONLY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    PRICE_SCALE_FIELD_NUMBER: _ClassVar[int]
    QUEUE_AHEAD_FIELD_NUMBER: _ClassVar[int]
    REJECT_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SIZE_SCALE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    TIF_FIELD_NUMBER: _ClassVar[int]
    TS_RECV_FIELD_NUMBER: _ClassVar[int]
    TS_SUBMIT_FIELD_NUMBER: _ClassVar[int]
    TS_VENUE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    detail: str
    filled: int
    id: int
    post_only: bool
    price: int
    price_scale: int
    queue_ahead: int
    reject: str
    side: OrderSide
    size: int
    size_scale: int
    status: OrderStatus
    symbol: str
    tif: TimeInForce
    ts_recv: int
    ts_submit: int
    ts_venue: int
    type: OrderType
    venue: str
    def __init__(self, id: _Optional[int] = ..., client_id: _Optional[str] = ..., venue: _Optional[str] = ..., symbol: _Optional[str] = ..., side: _Optional[_Union[OrderSide, str]] = ..., type: _Optional[_Union[OrderType, str]] = ..., tif: _Optional[_Union[TimeInForce, str]] = ..., post_only: bool = ..., price: _Optional[int] = ..., size: _Optional[int] = ..., filled: _Optional[int] = ..., price_scale: _Optional[int] = ..., size_scale: _Optional[int] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., reject: _Optional[str] = ..., detail: _Optional[str] = ..., ts_submit: _Optional[int] = ..., ts_venue: _Optional[int] = ..., ts_recv: _Optional[int] = ..., queue_ahead: _Optional[int] = ...) -> None: ...

class Position(_message.Message):
    __slots__ = ["bought", "cash", "fees", "mark", "money_scale", "pnl", "price_scale", "realized", "size", "size_scale", "sold", "symbol", "turnover", "unrealized", "venue"]
    BOUGHT_FIELD_NUMBER: _ClassVar[int]
    CASH_FIELD_NUMBER: _ClassVar[int]
    FEES_FIELD_NUMBER: _ClassVar[int]
    MARK_FIELD_NUMBER: _ClassVar[int]
    MONEY_SCALE_FIELD_NUMBER: _ClassVar[int]
    PNL_FIELD_NUMBER: _ClassVar[int]
    PRICE_SCALE_FIELD_NUMBER: _ClassVar[int]
    REALIZED_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SIZE_SCALE_FIELD_NUMBER: _ClassVar[int]
    SOLD_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    TURNOVER_FIELD_NUMBER: _ClassVar[int]
    UNREALIZED_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    bought: int
    cash: str
    fees: str
    mark: str
    money_scale: int
    pnl: str
    price_scale: int
    realized: str
    size: int
    size_scale: int
    sold: int
    symbol: str
    turnover: str
    unrealized: str
    venue: str
    def __init__(self, venue: _Optional[str] = ..., symbol: _Optional[str] = ..., size: _Optional[int] = ..., price_scale: _Optional[int] = ..., size_scale: _Optional[int] = ..., money_scale: _Optional[int] = ..., cash: _Optional[str] = ..., realized: _Optional[str] = ..., unrealized: _Optional[str] = ..., fees: _Optional[str] = ..., pnl: _Optional[str] = ..., mark: _Optional[str] = ..., bought: _Optional[int] = ..., sold: _Optional[int] = ..., turnover: _Optional[str] = ...) -> None: ...

class ReplaceOrder(_message.Message):
    __slots__ = ["order_id", "price_mantissa", "price_text", "size_mantissa", "size_text"]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_MANTISSA_FIELD_NUMBER: _ClassVar[int]
    PRICE_TEXT_FIELD_NUMBER: _ClassVar[int]
    SIZE_MANTISSA_FIELD_NUMBER: _ClassVar[int]
    SIZE_TEXT_FIELD_NUMBER: _ClassVar[int]
    order_id: int
    price_mantissa: int
    price_text: str
    size_mantissa: int
    size_text: str
    def __init__(self, order_id: _Optional[int] = ..., price_mantissa: _Optional[int] = ..., price_text: _Optional[str] = ..., size_mantissa: _Optional[int] = ..., size_text: _Optional[str] = ...) -> None: ...

class OrderSide(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class OrderType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class TimeInForce(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class OrderStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Liquidity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
