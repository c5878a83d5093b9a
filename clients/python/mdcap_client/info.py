"""What ``ListSources``, ``DescribeCapture`` and ``Stats`` answer, as frozen dataclasses.

Timestamps are int ns since the Unix epoch; every class has ``to_dict()``, a JSON-ready dict
with mdcap's JSON conventions (camelCase keys, ns timestamps as strings) that
``python -m mdcap_client`` prints.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from typing import Any, ClassVar, Dict, FrozenSet, Optional, Tuple

from .convert import instrument_from_pb
from .events import Instrument

__all__ = [
    "LiveFeedInfo",
    "CaptureInfo",
    "Sources",
    "SessionInfo",
    "GapInfo",
    "CaptureDescription",
    "LatencyStats",
    "SubscriberStats",
    "Stats",
    "QUEUE_POLICIES",
]

_FROZEN: Dict[str, Any] = {"frozen": True, "slots": True} if sys.version_info >= (3, 10) else {"frozen": True}

#: QueuePolicy enum numbers and the words this client uses for them.
QUEUE_POLICIES: Dict[str, int] = {"block": 0, "drop-oldest": 1, "disconnect": 2}
_POLICY_WORDS = {v: k for k, v in QUEUE_POLICIES.items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)


def _json_value(value: Any) -> Any:
    if isinstance(value, Instrument):
        return value.to_dict()
    if dataclasses.is_dataclass(value):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    return value


class _ToDict:
    """``to_dict()`` for the info classes: camelCase keys, the fields named in ``_NS`` as strings."""

    __slots__ = ()
    _NS: ClassVar[FrozenSet[str]] = frozenset()

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready dict: camelCase keys, ns timestamps as decimal strings."""
        out: Dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in self._NS and value is not None:
                value = str(value)
            out[_camel(f.name)] = _json_value(value)
        return out


@dataclass(**_FROZEN)
class LiveFeedInfo(_ToDict):
    """A live feed the server runs: its name (``LiveSource.feed``), venue, symbols and state."""

    feed: str
    venue: str
    symbols: Tuple[str, ...]
    state: str


@dataclass(**_FROZEN)
class CaptureInfo(_ToDict):
    """A capture the server can replay: its name (``capture=``), feed, symbols and time span (ns)."""

    _NS: ClassVar[FrozenSet[str]] = frozenset({"start", "end"})
    capture: str
    feed: str
    symbols: Tuple[str, ...]
    start: int
    end: int


@dataclass(**_FROZEN)
class Sources(_ToDict):
    """What ``list_sources`` returns: the live feeds and the captures."""

    live: Tuple[LiveFeedInfo, ...]
    captures: Tuple[CaptureInfo, ...]


@dataclass(**_FROZEN)
class SessionInfo(_ToDict):
    """A recording session of a capture; ``end`` is None for one that was never closed."""

    _NS: ClassVar[FrozenSet[str]] = frozenset({"start", "end"})
    id: int
    feed: str
    start: int
    end: Optional[int]
    clean: bool


@dataclass(**_FROZEN)
class GapInfo(_ToDict):
    """A recorded data-quality event (gap, disconnect, resync, failed checksum)."""

    _NS: ClassVar[FrozenSet[str]] = frozenset({"ts_recv"})
    venue: str
    symbol: str
    ts_recv: int
    kind: str
    detail: str


@dataclass(**_FROZEN)
class CaptureDescription(_ToDict):
    """What ``describe_capture`` returns: sessions, symbols, instruments (scales), gaps, rows."""

    capture: str
    feed: str
    symbols: Tuple[str, ...]
    sessions: Tuple[SessionInfo, ...]
    instruments: Tuple[Instrument, ...]
    gaps: Tuple[GapInfo, ...]
    rows: int


@dataclass(**_FROZEN)
class LatencyStats(_ToDict):
    """Latency of one pipeline stage in ns: percentiles 50, 99, 99.9 and the maximum, over ``count`` samples."""

    stage: str
    count: int
    p50: int
    p99: int
    p999: int
    max: int


@dataclass(**_FROZEN)
class SubscriberStats(_ToDict):
    """One subscriber of the server: its source, peer, queue policy and counters."""

    id: int
    source: str
    peer: str
    policy: str
    events_sent: int
    batches_sent: int
    events_dropped: int
    queued_batches: int


@dataclass(**_FROZEN)
class Stats(_ToDict):
    """What ``stats`` returns: the subscribers, latency per stage, the server's resident memory."""

    subscribers: Tuple[SubscriberStats, ...]
    latency: Tuple[LatencyStats, ...]
    rss_bytes: int


def sources_from_pb(m: Any) -> Sources:
    """A ``ListSourcesResponse`` as :class:`Sources`."""
    return Sources(
        live=tuple(LiveFeedInfo(x.feed, x.venue, tuple(x.symbols), x.state) for x in m.live),
        captures=tuple(CaptureInfo(x.capture, x.feed, tuple(x.symbols), x.start, x.end) for x in m.captures),
    )


def description_from_pb(m: Any) -> CaptureDescription:
    """A ``CaptureDescription`` message as :class:`CaptureDescription`."""
    return CaptureDescription(
        capture=m.capture,
        feed=m.feed,
        symbols=tuple(m.symbols),
        sessions=tuple(SessionInfo(s.id, s.feed, s.start, s.end if s.HasField("end") else None, s.clean) for s in m.sessions),
        instruments=tuple(instrument_from_pb(i) for i in m.instruments),
        gaps=tuple(GapInfo(g.venue, g.symbol, g.ts_recv, g.kind, g.detail) for g in m.gaps),
        rows=m.rows,
    )


def stats_from_pb(m: Any) -> Stats:
    """A ``StatsResponse`` as :class:`Stats`."""
    return Stats(
        subscribers=tuple(
            SubscriberStats(
                s.id,
                s.source,
                s.peer,
                _POLICY_WORDS.get(s.policy, f"unknown({s.policy})"),
                s.events_sent,
                s.batches_sent,
                s.events_dropped,
                s.queued_batches,
            )
            for s in m.subscribers
        ),
        latency=tuple(LatencyStats(x.stage, x.count, x.p50, x.p99, x.p999, x.max) for x in m.latency),
        rss_bytes=m.rss_bytes,
    )
