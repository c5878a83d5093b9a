"""What needs no server: requests from arguments, errors from gRPC statuses, frames, the CLI's parsing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, List, Optional, Tuple

import grpc
import pytest

import mdcap_client
from mdcap_client import FrameBuilder, MdcapError, decimal_column, subscribe_request, to_frames
from mdcap_client.__main__ import _time_ns, main
from mdcap_client._proto.mdcap.v1 import events_pb2 as pb
from mdcap_client._proto.mdcap.v1 import market_data_pb2 as md
from mdcap_client.client import Subscription


def kinds_of(req: md.SubscribeRequest) -> List[str]:
    return [md.EventKind.Name(k) for k in req.kinds]


def test_capture_request() -> None:
    req = subscribe_request(capture="demo", speed="10x", symbols=["AAPL", "MSFT"], bars=[60, 300], from_ns=5, to_ns=9, batch_events=64)
    assert req.WhichOneof("source") == "capture"
    assert (req.capture.capture, req.capture.speed, list(req.capture.symbols)) == ("demo", "10x", ["AAPL", "MSFT"])
    assert (getattr(req.capture, "from"), req.capture.to) == (5, 9)
    assert list(req.bar_intervals) == [60, 300] and req.batch_events == 64
    assert kinds_of(req) == [] and req.policy == md.QUEUE_POLICY_BLOCK and req.book_depth == 0
    assert not req.HasField("bar_grace_ms") and req.queue_batches == 0


def test_defaults_leave_the_server_its_defaults() -> None:
    req = subscribe_request(capture="demo")
    assert req.capture.speed == "max" and not req.capture.HasField("from") and not req.capture.HasField("to")
    assert list(req.capture.symbols) == [] and list(req.bar_intervals) == [] and list(req.kinds) == []


def test_kinds_aliases_and_depth() -> None:
    req = subscribe_request(capture="c", kinds="trades,top", depth=5, cadence_ns=1000)
    assert kinds_of(req) == ["EVENT_KIND_TRADE", "EVENT_KIND_SNAPSHOT"] and req.book_depth == 5 and req.book_cadence_ns == 1000
    # A depth without kinds: the default kinds and the snapshots; bars only with intervals (an
    # explicit BAR without any is refused by the server).
    assert kinds_of(subscribe_request(capture="c", depth=3))[-1] == "EVENT_KIND_SNAPSHOT"
    assert "EVENT_KIND_BAR" not in kinds_of(subscribe_request(capture="c", depth=3))
    assert len(subscribe_request(capture="c", depth=3).kinds) == 6
    assert "EVENT_KIND_BAR" in kinds_of(subscribe_request(capture="c", depth=3, bars=[60]))


def test_live_request_and_policy() -> None:
    req = subscribe_request(live="kraken", symbols="XBT/USD,ETH/USD", policy="drop-oldest", speed=10, bars=60)
    assert req.WhichOneof("source") == "live" and req.live.feed == "kraken" and list(req.live.symbols) == ["XBT/USD", "ETH/USD"]
    assert req.policy == md.QUEUE_POLICY_DROP_OLDEST and list(req.bar_intervals) == [60]
    assert subscribe_request(capture="c", speed=0.5).capture.speed == "0.5x"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"capture": "c", "kinds": ["trade", "ticks"]}, "kinds: expected some of trade, quote"),
        ({"capture": "c", "policy": "drop"}, "policy: expected block or drop-oldest or disconnect"),
        ({}, "exactly one of capture="),
        ({"capture": "c", "live": "demo"}, "exactly one of capture="),
        ({"live": "demo", "from_ns": 1}, "a live feed has no time range"),
    ],
)
def test_what_cannot_be_sent_is_refused_here(kwargs: Any, match: str) -> None:
    with pytest.raises(MdcapError, match=match) as e:
        subscribe_request(**kwargs)
    assert e.value.code == "MDCAP_ERR_INVALID_OPTION" and e.value.status == grpc.StatusCode.INVALID_ARGUMENT


class FakeRpcError(grpc.RpcError):
    """What grpc raises for a failed call: an RpcError that is also a Call."""

    def __init__(self, status: grpc.StatusCode, details: str, trailing: Tuple[Tuple[str, Any], ...] = ()) -> None:
        self._status, self._details, self._trailing = status, details, trailing

    def code(self) -> grpc.StatusCode:
        return self._status

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> Tuple[Tuple[str, Any], ...]:
        return self._trailing


def test_errors_from_status_and_metadata() -> None:
    e = MdcapError.from_rpc(
        FakeRpcError(grpc.StatusCode.NOT_FOUND, "MDCAP_ERR_CAPTURE_NOT_FOUND: capture nope: not found", (("mdcap-error-code", "MDCAP_ERR_CAPTURE_NOT_FOUND"),))
    )
    assert (e.code, e.status, e.message) == ("MDCAP_ERR_CAPTURE_NOT_FOUND", grpc.StatusCode.NOT_FOUND, "capture nope: not found")
    assert str(e) == "MDCAP_ERR_CAPTURE_NOT_FOUND: capture nope: not found"
    # The code from the details alone, and from the metadata alone.
    assert MdcapError.from_rpc(FakeRpcError(grpc.StatusCode.INVALID_ARGUMENT, "MDCAP_ERR_X: bad")).code == "MDCAP_ERR_X"
    only_meta = MdcapError.from_rpc(FakeRpcError(grpc.StatusCode.UNAUTHENTICATED, "no token", (("mdcap-error-code", b"MDCAP_ERR_AUTH"),)))
    assert (only_meta.code, only_meta.message) == ("MDCAP_ERR_AUTH", "no token")
    transport = MdcapError.from_rpc(FakeRpcError(grpc.StatusCode.UNAVAILABLE, "failed to connect"))
    assert transport.code is None and str(transport) == "UNAVAILABLE: failed to connect"


def test_a_subscription_turns_stream_errors_into_mdcap_errors() -> None:
    closed: List[bool] = []

    class Call:
        def __iter__(self) -> Any:
            yield pb.EventBatch(events=[pb.Event(status=pb.Status(header=pb.Header(venue="v", symbol="*"), kind="gap"))], dropped=3)
            raise FakeRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, "MDCAP_ERR_SLOW_CONSUMER: queue full")

        def cancel(self) -> None:
            closed.append(True)

    sub = Subscription(lambda: Call(), mdcap_client.events_of, on_close=lambda: closed.append(False))
    first = next(sub)
    assert first.kind == "gap" and sub.dropped == 3 and sub.batches == 1 and sub.events == 1
    with pytest.raises(MdcapError) as e:
        next(sub)
    assert e.value.code == "MDCAP_ERR_SLOW_CONSUMER" and e.value.status == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert closed == [True, False]  # the call cancelled, the channel released, once


def test_closing_before_the_first_event_never_starts_the_call() -> None:
    started: List[int] = []
    released: List[int] = []
    with Subscription(lambda: started.append(1), mdcap_client.events_of, on_close=lambda: released.append(1)) as sub:
        pass
    assert started == [] and released == [1] and list(sub) == []


def test_dropping_the_iterator_cancels_the_call() -> None:
    cancelled: List[bool] = []

    class Call:
        def __iter__(self) -> Any:
            while True:
                yield pb.EventBatch(events=[pb.Event(status=pb.Status(kind="gap"))])

        def cancel(self) -> None:
            cancelled.append(True)

    for event in Subscription(lambda: Call(), mdcap_client.events_of):
        break
    assert cancelled == [True]  # at once, without waiting for the garbage collector's cycles


def batch() -> pb.EventBatch:
    h = pb.Header(venue="demo", symbol="AAPL", ts_event=1, ts_recv=2, seq=3)
    return pb.EventBatch(
        events=[
            pb.Event(trade=pb.Trade(header=h, price=-15025, size=10, price_scale=2, side=pb.AGGRESSOR_SIDE_BUY)),
            pb.Event(quote=pb.Quote(header=pb.Header(venue="demo", symbol="AAPL"), bid_size=0, ask_price=15030, ask_size=5, price_scale=2)),
            pb.Event(trade=pb.Trade(header=pb.Header(venue="demo", symbol="MSFT", ts_recv=3), price=1, size=1, price_scale=0, trade_id="x")),
            pb.Event(status=pb.Status(header=h, kind="gap", from_seq=1, to_seq_big=str(1 << 70))),
            pb.Event(order=pb.OrderUpdate(header=h, order_id_text="abc", price=5, size=1)),
            pb.Event(order=pb.OrderUpdate(header=h, order_id_number=7, price=5, size=1)),
            pb.Event(snapshot=pb.BookSnapshot(header=h, valid=True, price_scale=2, bids=[pb.Level(price=100, size=2)])),
        ]
    )


def test_columns_are_exact() -> None:
    frames = to_frames([batch()], format="columns")
    assert sorted(frames) == ["order", "quote", "snapshot", "status", "trade"]
    t = frames["trade"]
    assert t["price_mantissa"] == [-15025, 1] and t["price_scale"] == [2, 0] and t["seq"] == [3, None] and t["trade_id"] == [None, "x"]
    assert t["side"] == ["buy", "none"] and t["symbol"] == ["AAPL", "MSFT"]
    assert frames["quote"]["bid_price_mantissa"] == [None] and frames["quote"]["ask_price_mantissa"] == [15030]
    assert frames["status"]["to_seq"] == [1 << 70] and frames["status"]["ok"] == [None]
    assert frames["order"]["order_id"] == ["abc", 7]
    assert frames["snapshot"]["bids"] == [[(100, 2)]] and frames["snapshot"]["asks"] == [[]]
    assert decimal_column(t["price_mantissa"], t["price_scale"]) == [Decimal("-150.25"), Decimal(1)]


def test_builder_counts_and_clears() -> None:
    b = FrameBuilder()
    b.add(batch())
    b.add(batch())
    assert b.events == 14
    assert len(b.frames("columns")["trade"]["venue"]) == 4
    assert b.events == 0 and b.frames("columns") == {}
    with pytest.raises(ValueError, match="format: expected one of pandas, arrow, columns"):
        b.frames("excel")


def test_pandas_frames() -> None:
    pd = pytest.importorskip("pandas", reason="pandas is not installed (apt-get install python3-pandas)")
    frames = to_frames([batch()])
    t = frames["trade"]
    assert isinstance(t, pd.DataFrame)
    assert str(t["price_mantissa"].dtype) == "int64" and str(t["size_mantissa"].dtype) == "uint64"
    assert str(t["seq"].dtype) == "UInt64" and t["seq"].isna().tolist() == [False, True]
    assert str(t["ts_recv"].dtype) == "int64" and t["ts_recv"].tolist() == [2, 3]
    q = frames["quote"]
    assert str(q["bid_price_mantissa"].dtype) == "Int64" and q["bid_price_mantissa"].isna().all()
    assert decimal_column(q["bid_price_mantissa"], q["price_scale"]) == [None]
    assert decimal_column(q["ask_price_mantissa"], q["price_scale"]) == [Decimal("150.30")]
    s = frames["status"]
    assert s["to_seq"].tolist() == [1 << 70] and str(s["from_seq"].dtype) == "UInt64"  # beyond 64 bits: objects
    assert str(s["ok"].dtype) == "boolean"


def test_time_arguments() -> None:
    assert _time_ns("1704205800000000000") == 1_704_205_800_000_000_000
    assert _time_ns("2024-01-02T14:30:00Z") == 1_704_205_800_000_000_000
    assert _time_ns("2024-01-02T14:30:00.000000123Z") == 1_704_205_800_000_000_123
    assert _time_ns("2024-01-02T14:30:00.5Z") == 1_704_205_800_500_000_000


def test_cli_errors_are_one_line_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["subscribe", "127.0.0.1:1", "--capture", "x", "--kinds", "ticks"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mdcap_client: MDCAP_ERR_INVALID_OPTION: kinds: expected") and err.count("\n") == 1


def test_cli_unreachable_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sources", "127.0.0.1:1", "--timeout", "5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mdcap_client: UNAVAILABLE: ") and err.count("\n") == 1


def test_public_api() -> None:
    for name in mdcap_client.__all__:
        assert getattr(mdcap_client, name) is not None, name
    assert mdcap_client.DEFAULT_KINDS == ("trade", "quote", "book", "order", "bar", "status")


def test_optional_imports_are_lazy() -> None:
    import subprocess
    import sys

    code = "import sys, mdcap_client; print('pandas' in sys.modules, 'pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=str(_root()))
    assert out.stdout.strip() == "False False"


def _root() -> Optional[str]:
    from conftest import CLIENT_ROOT

    return str(CLIENT_ROOT)
