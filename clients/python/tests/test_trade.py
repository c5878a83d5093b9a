"""Backtests from Python over ``mdcap serve``'s Trade call, against the same strategy run in TypeScript.

The acceptance test of issue 15's gRPC part: one strategy, written here in Python and in
tests/support/ts_backtest.mjs in TypeScript (run in-process on a BacktestSession, no server),
gives identical fills on one capture: the SHA-256 of their canonical text (fill id, order id,
side, price mantissa, size, liquidity, fee, venue and receive times) and the summary's money.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Optional

import grpc
import pytest
from conftest import REPO, SUPPORT, built, missing, node
from server import Server, make_sim_capture, serve_available

import mdcap_client
from mdcap_client import Broker, Fill, MdcapError, OrderState, Trade

pytestmark = pytest.mark.server

MS = 1_000_000


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    why = serve_available()
    if why is not None:
        missing(why)
    root = tmp_path_factory.mktemp("trade-captures")
    make_sim_capture(root / "sim", 10, "--pps", "500", "--gap-every", "150", "--seed", "3")
    return root


@pytest.fixture(scope="module")
def server(captures: Path, request: pytest.FixtureRequest) -> Server:
    s = Server(captures)
    request.addfinalizer(s.stop)
    return s.start()


def ts_run(capture: Path, *args: str) -> Dict[str, Any]:
    """The TypeScript strategy in-process (tests/support/ts_backtest.mjs)."""
    built(REPO / "packages" / "backtest" / "dist" / "index.js")
    r = subprocess.run([node(), str(SUPPORT / "ts_backtest.mjs"), str(capture), *args], capture_output=True, text=True, timeout=300, check=False)
    if r.returncode != 0:
        raise AssertionError(f"ts_backtest.mjs failed: {r.stderr}")
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def fills_text(fills: List[Fill]) -> str:
    """The canonical text ts_backtest.mjs prints: one line per fill, integers as mantissas."""
    return "".join(
        f"{f.fill_id} {f.order_id} {f.side} {f.price_mantissa} {f.size_mantissa} {f.liquidity} {f.fee_mantissa} {f.ts_venue} {f.ts_recv}\n"
        for f in fills
    )


class EveryTwentieth:
    """The strategy of ts_backtest.mjs, in Python (see there)."""

    def __init__(self, chase: bool = False) -> None:
        self.chase = chase
        self.n = 0
        self.k = 0
        self.open: List[int] = []

    def on_trade(self, t: Trade, broker: Broker) -> None:
        if t.symbol != "AAPL":
            return
        self.n += 1
        if self.n % 20:
            return
        self.k += 1
        if self.k % 3 == 0 and self.open:
            broker.cancel(self.open.pop(0))
        if self.k % 2 == 1:
            tick = Decimal(1).scaleb(-t.price_scale)
            broker.submit("AAPL", "buy", Decimal("100"), price=t.price - 2 * tick, client_id=f"L{self.k}")
        else:
            broker.submit("AAPL", "sell", "100", client_id=f"M{self.k}")

    def on_order(self, o: OrderState, broker: Broker) -> None:
        if o.type == "limit" and o.tif == "gtc" and o.status == "open" and o.id not in self.open:
            self.open.append(o.id)
        if not o.is_open and o.id in self.open:
            self.open.remove(o.id)

    def on_fill(self, f: Fill, broker: Broker) -> None:
        if self.chase and f.fill_id % 3 == 0:
            broker.submit(f.symbol, "sell", 100, price=f.price_mantissa, tif="ioc", client_id=f"F{f.fill_id}")


@pytest.mark.parametrize(
    "latency,chase",
    [
        pytest.param({"entry": MS, "ack": 200_000}, False, id="1ms-entry"),
        pytest.param({"entry": 0, "ack": 0}, True, id="no-latency-orders-from-fills"),
    ],
)
def test_python_strategy_fills_equal_the_typescript_ones(server: Server, captures: Path, latency: Dict[str, int], chase: bool) -> None:
    ts = ts_run(captures / "sim", "--entry", str(latency["entry"]), "--ack", str(latency["ack"]), "--maker=-0.0001", "--taker=0.0003", *(["--chase"] if chase else []))
    result = mdcap_client.backtest(
        server.address,
        capture="sim",
        kinds=["trade"],
        strategy=EveryTwentieth(chase),
        latency=latency,
        fees={"maker": Decimal("-0.0001"), "taker": "0.0003"},
        timeout=300,
    )
    text = fills_text(result.fills)
    assert ts["fills"] > 5 and ts["cancelled"] > 0
    assert text == ts["text"]
    assert hashlib.sha256(text.encode()).hexdigest() == ts["sha256"]
    s = result.summary
    assert (s.orders, s.cancelled, s.fills) == (ts["orders"], ts["cancelled"], ts["fills"])
    scale = ts["moneyScale"]
    assert s.money_scale == scale
    assert (s.pnl, s.fees, s.turnover) == tuple(Decimal(f"{ts[k]}E-{scale}") for k in ("pnl", "fees", "turnover"))
    if chase:
        assert any((f.client_id or "").startswith("F") for f in result.fills)
    assert len(result.orders) > len(result.fills)


def test_books_and_snapshots_travel_ahead_without_waiting(server: Server, captures: Path) -> None:
    """decide_on trade: book updates and snapshots come in the windows too, and cannot send orders; same fills."""
    ts = ts_run(captures / "sim", "--entry", str(MS))
    seen: Dict[str, int] = {"snapshot": 0, "refused": 0}

    class WithBooks(EveryTwentieth):
        def on_snapshot(self, s: Any, broker: Broker) -> None:
            seen["snapshot"] += 1
            if seen["snapshot"] == 1:
                try:
                    broker.submit("AAPL", "buy", "100")
                except MdcapError as e:
                    assert e.code == "MDCAP_ERR_INVALID_ORDER"
                    seen["refused"] += 1

    result = mdcap_client.backtest(
        server.address, capture="sim", kinds=["trade", "book", "snapshot"], depth=1, decide_on=["trade"], strategy=WithBooks(), latency={"entry": MS}
    )
    assert fills_text(result.fills) == ts["text"]
    assert seen == {"snapshot": seen["snapshot"], "refused": 1} and seen["snapshot"] > 1000


def test_a_malformed_order_raises_in_the_strategy_and_the_run_goes_on(server: Server) -> None:
    errors: List[str] = []
    sent: List[OrderState] = []

    class Strategy:
        def on_trade(self, t: Trade, broker: Broker) -> None:
            if not errors:
                with pytest.raises(MdcapError) as e:
                    broker.submit("AAPL", "buy", 0, price=t.price)  # a size of 0: the broker refuses it
                errors.append(str(e.value.code))
                with pytest.raises(MdcapError):
                    broker.submit("AAPL", "buy", 1.5)  # type: ignore[arg-type]  # never a float
            elif not sent:
                sent.append(broker.submit("AAPL", "sell", "100", client_id="x"))
                assert broker.open_orders("AAPL") == [sent[0]]
                assert sent[0].ts_submit == broker.now == t.ts_recv

    result = mdcap_client.backtest(server.address, capture="sim", symbols=["AAPL"], kinds=["trade"], strategy=Strategy())
    assert errors == ["MDCAP_ERR_INVALID_ORDER"]
    assert sent[0].status == "pending" and sent[0].client_id == "x"
    # Ids are the broker's, as in TypeScript (whether the refused request took one is the broker's business).
    assert result.summary.orders == sent[0].id


@pytest.mark.parametrize(
    "start,code,status",
    [
        ({"capture": "nope"}, "MDCAP_ERR_SOURCE_NOT_FOUND", grpc.StatusCode.NOT_FOUND),
        ({"capture": "sim", "fees": {"taker": "2bp"}}, "MDCAP_ERR_INVALID_OPTION", grpc.StatusCode.INVALID_ARGUMENT),
        ({"capture": "sim", "kinds": ["trade"], "decide_on": ["book"]}, "MDCAP_ERR_BAD_REQUEST", grpc.StatusCode.INVALID_ARGUMENT),
    ],
)
def test_bad_starts_are_refused(server: Server, start: Dict[str, Any], code: str, status: grpc.StatusCode) -> None:
    with pytest.raises(MdcapError) as e:
        mdcap_client.backtest(server.address, strategy=object(), **start)
    assert (e.value.code, e.value.status) == (code, status)


def test_a_strategy_that_raises_cancels_the_call_and_the_server_goes_on(server: Server) -> None:
    class GivesUp:
        n = 0

        def on_trade(self, t: Trade, broker: Broker) -> None:
            self.n += 1
            if self.n == 10:
                raise RuntimeError("gave up")

    with pytest.raises(RuntimeError, match="gave up"):
        mdcap_client.backtest(server.address, capture="sim", kinds=["trade"], strategy=GivesUp())
    again: Optional[mdcap_client.BacktestResult] = mdcap_client.backtest(server.address, capture="sim", symbols=["AAPL"], kinds=["trade"], strategy=object())
    assert again is not None and again.summary.orders == 0 and server.alive()
