"""What the requests of the Subscribe and Trade calls share: kind names, the capture source,
the bar options, and the error of an argument that cannot go in a request."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import grpc

from ._proto.mdcap.v1 import market_data_pb2
from .errors import MdcapError

_K = market_data_pb2.EventKind
#: Kind names -> EventKind (:func:`~mdcap_client.subscribe` also takes the aliases ``mdcap replay --print`` uses).
KINDS: Dict[str, int] = {
    "trade": _K.Value("EVENT_KIND_TRADE"),
    "quote": _K.Value("EVENT_KIND_QUOTE"),
    "book": _K.Value("EVENT_KIND_BOOK"),
    "order": _K.Value("EVENT_KIND_ORDER"),
    "bar": _K.Value("EVENT_KIND_BAR"),
    "status": _K.Value("EVENT_KIND_STATUS"),
    "snapshot": _K.Value("EVENT_KIND_SNAPSHOT"),
    "instrument": _K.Value("EVENT_KIND_INSTRUMENT"),
}


def bad_option(what: str, expected: str, found: Any) -> MdcapError:
    """The error of an argument that cannot go in a request (``MDCAP_ERR_INVALID_OPTION``)."""
    return MdcapError("MDCAP_ERR_INVALID_OPTION", f"{what}: expected {expected}, found {found!r}", grpc.StatusCode.INVALID_ARGUMENT)


def symbol_list(symbols: Union[None, str, Sequence[str]]) -> Optional[Sequence[str]]:
    """Symbols as given, or ``"A,B"`` split."""
    return [s for s in symbols.split(",") if s] if isinstance(symbols, str) else symbols


def set_capture(source: Any, capture: str, speed: str, from_ns: Optional[int], to_ns: Optional[int], symbols: Optional[Sequence[str]]) -> None:
    """Fills a ``CaptureSource`` message."""
    source.capture = capture
    source.speed = speed
    if from_ns is not None:
        setattr(source, "from", int(from_ns))  # `from` is a Python keyword
    if to_ns is not None:
        source.to = int(to_ns)
    source.symbols.extend(symbols or ())


def bar_intervals(bars: Union[None, int, Iterable[int]]) -> List[int]:
    """Bar intervals in seconds: none, one, or several."""
    return [] if bars is None else [int(bars)] if isinstance(bars, int) else [int(b) for b in bars]


def set_bar_options(msg: Any, bar_grace_ms: Optional[int], bar_timestamp: Optional[str]) -> None:
    """The bar options of a ``SubscribeRequest`` or a ``TradeStart``, when given."""
    if bar_grace_ms is not None:
        msg.bar_grace_ms = int(bar_grace_ms)
    if bar_timestamp is not None:
        msg.bar_timestamp = bar_timestamp
