"""The Python client against a real ``mdcap serve``: byte-for-byte parity with ``mdcap replay``, errors, the CLI.

The server runs on a free loopback port over captures recorded here (the simulated venue on a
virtual clock, with gaps, resyncs and disconnects; LOBSTER L3 data from the datasets when
present). Every stream is compared with ``mdcap replay CAP --speed max --json`` of the same
kinds, bars and snapshot depth.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List

import grpc
import pytest
from conftest import CLIENT_ROOT, REPO, datasets_root, missing
from server import Server, make_sim_capture, mdcap, replayed, serve_available

import mdcap_client
from mdcap_client import Client, MdcapError, events_of

pytestmark = pytest.mark.server

DEMO_SECONDS = 20  # 10x replays it in 2 s
LOBSTER = "lobster"
LOBSTER_FILES = (
    "AAPL_2012-06-21_34200000_57600000_message_10.first999.csv",
    "AAPL_2012-06-21_34200000_57600000_orderbook_10.first999.csv",
)


def import_lobster(out: Path) -> str:
    """Imports the LOBSTER sample into ``out``; returns '' or why it cannot."""
    root = datasets_root() / "lobster"
    files = [root / f for f in LOBSTER_FILES]
    absent = [str(f) for f in files if not f.exists()]
    if absent:
        return f"{absent[0]} not found (set MDCAP_DATASETS to the folder holding lobster/)"
    r = mdcap(["import", "lobster", "--messages", str(files[0]), "--orderbook", str(files[1]), "--symbol", "AAPL", "--date", "2012-06-21", "--out", str(out)])
    if r.returncode != 0:
        raise RuntimeError(f"mdcap import lobster failed: {r.stderr.decode()}")
    return ""


@pytest.fixture(scope="session")
def captures(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    """The captures directory the servers serve: demo (20 s), sim (3 min), and lobster when the dataset is there."""
    why = serve_available()
    if why is not None:
        missing(why)
    root = tmp_path_factory.mktemp("captures")
    demo = make_sim_capture(root / "demo", DEMO_SECONDS, "--disconnect-after", "3000")
    sim = make_sim_capture(root / "sim", 180, "--pps", "200", "--gap-every", "400", "--seed", "5")
    no_lobster = import_lobster(root / LOBSTER)
    return {"root": root, "demo": demo, "sim": sim, "no_lobster": no_lobster}


@pytest.fixture(scope="session")
def server(captures: Dict[str, Any], request: pytest.FixtureRequest) -> Server:
    s = Server(captures["root"])
    request.addfinalizer(s.stop)
    return s.start()


@pytest.fixture(scope="module")
def token_server(captures: Dict[str, Any], request: pytest.FixtureRequest) -> Server:
    s = Server(captures["root"], "--token", "s3cret")
    request.addfinalizer(s.stop)
    return s.start()


def cap(captures: Dict[str, Any], name: str) -> Path:
    return Path(captures["root"]) / name


def lines(events: Iterable[Any]) -> bytes:
    return "".join(f"{e.to_json()}\n" for e in events).encode("utf-8")


def kinds_in(output: bytes) -> set:
    return set(re.findall(rb'^\{"type":"(\w+)"', output, re.M))


# --- parity ----------------------------------------------------------------------------------


@pytest.mark.parametrize("speed", ["max", "10x"])
def test_every_callback_with_bars_gaps_and_disconnects(server: Server, captures: Dict[str, Any], speed: str) -> None:
    want = replayed(cap(captures, "demo"), "--bars", "1,5")
    assert {b"trade", b"quote", b"book", b"bar", b"status"} <= kinds_in(want)
    assert b'"kind":"gap"' in want and b'"kind":"disconnected"' in want and b'"kind":"reconnected"' in want
    t0 = time.monotonic()
    got = lines(mdcap_client.subscribe(server.address, capture="demo", speed=speed, bars=[1, 5]))
    took = time.monotonic() - t0
    assert got == want
    if speed == "10x":
        assert took >= DEMO_SECONDS / 10 * 0.9, f"10x of {DEMO_SECONDS} s of market took only {took:.2f} s"


def test_minute_bars_at_max(server: Server, captures: Dict[str, Any]) -> None:
    want = replayed(cap(captures, "sim"), "--bars", "60")
    assert want.count(b'"type":"bar"') >= 9  # 3 symbols x 3 minutes
    assert lines(mdcap_client.subscribe(server.address, capture="sim", bars=60)) == want


def test_a_window_at_10x(server: Server, captures: Dict[str, Any]) -> None:
    start = int(captures["sim"]["start"])
    frm, to = start + 60_000_000_000, start + 80_000_000_000  # 20 s of market: 2 s at 10x
    want = replayed(cap(captures, "sim"), "--bars", "10", "--from", str(frm), "--to", str(to), "--symbols", "MSFT,AAPL")
    assert want.count(b"\n") > 1000
    got = mdcap_client.subscribe(server.address, capture="sim", speed="10x", bars=[10], from_ns=frm, to_ns=to, symbols=["MSFT", "AAPL"])
    assert lines(got) == want


@pytest.mark.parametrize("speed", ["max", "10x"])
def test_book_snapshots_are_replays_top_lines(server: Server, captures: Dict[str, Any], speed: str) -> None:
    want = replayed(cap(captures, "demo"), "--print", "top", "--depth", "5")
    assert kinds_in(want) == {b"top"} and b'"valid":false' in want and b'"valid":true' in want
    assert lines(mdcap_client.subscribe(server.address, capture="demo", speed=speed, kinds=["snapshot"], depth=5)) == want


def test_kinds_pick_replays_print_choices(server: Server, captures: Dict[str, Any]) -> None:
    want = replayed(cap(captures, "demo"), "--print", "trades,bars,status", "--bars", "5", "--symbols", "BTC-USD")
    got = mdcap_client.subscribe(server.address, capture="demo", kinds="trades,bars,status", bars=[5], symbols="BTC-USD")
    assert lines(got) == want and kinds_in(want) == {b"trade", b"bar", b"status"}


def test_lobster_orders_and_snapshots(server: Server, captures: Dict[str, Any]) -> None:
    if captures["no_lobster"]:
        missing(captures["no_lobster"])
    want = replayed(cap(captures, LOBSTER), "--bars", "60")
    assert b'"type":"order"' in want and b'"type":"trade"' in want
    assert lines(mdcap_client.subscribe(server.address, capture=LOBSTER, bars=[60])) == want
    top = replayed(cap(captures, LOBSTER), "--print", "top", "--depth", "5")
    assert lines(mdcap_client.subscribe(server.address, capture=LOBSTER, kinds=["top"], depth=5)) == top


def test_batches_and_frames_hold_the_same_events(server: Server, captures: Dict[str, Any]) -> None:
    want = replayed(cap(captures, "demo"), "--bars", "1")
    sub = mdcap_client.subscribe_batches(server.address, capture="demo", bars=[1], batch_events=256)
    got = b""
    sizes: List[int] = []
    for batch in sub:
        assert batch.dropped == 0
        sizes.append(len(batch.events))
        got += lines(events_of(batch))
    assert got == want
    assert max(sizes) <= 256 and sum(sizes) == want.count(b"\n") == sub.events and sub.batches == len(sizes)

    pd = pytest.importorskip("pandas", reason="pandas is not installed (apt-get install python3-pandas)")
    counts: Dict[str, int] = {}
    chunks = 0
    for frames in mdcap_client.subscribe_frames(server.address, capture="demo", bars=[1], rows=5000):
        chunks += 1
        for kind, df in frames.items():
            assert isinstance(df, pd.DataFrame)
            counts[kind] = counts.get(kind, 0) + len(df)
    assert chunks >= 4
    assert counts == {k.decode(): want.count(b'{"type":"' + k + b'"') for k in kinds_in(want)}
    assert "snapshot" not in counts


def test_instruments_come_before_each_symbols_first_event(server: Server, captures: Dict[str, Any]) -> None:
    kinds = ["instrument", "trade", "quote", "book", "status"]
    events = list(mdcap_client.subscribe(server.address, capture="demo", kinds=kinds, symbols=["AAPL", "BTC-USD"]))
    instruments = [e for e in events if e.type == "instrument"]
    assert sorted(i.symbol for i in instruments) == ["AAPL", "BTC-USD"]
    for i in instruments:
        first = next(n for n, e in enumerate(events) if e.type != "instrument" and e.symbol == i.symbol)
        assert events.index(i) < first
    btc = next(i for i in instruments if i.symbol == "BTC-USD")
    assert (btc.price_scale, btc.size_scale) == (2, 8)
    want = replayed(cap(captures, "demo"), "--print", "trades,quotes,book,status", "--symbols", "AAPL,BTC-USD")
    assert lines(e for e in events if e.type != "instrument") == want


# --- the other calls -------------------------------------------------------------------------


def test_sources_describe_and_stats(server: Server, captures: Dict[str, Any]) -> None:
    with Client(server.address) as client:
        sources = client.list_sources()
        names = sorted(c.capture for c in sources.captures)
        assert {"demo", "sim"} <= set(names) and sources.live == ()
        demo = next(c for c in sources.captures if c.capture == "demo")
        assert demo.symbols == ("AAPL", "MSFT", "BTC-USD") and demo.start == int(captures["demo"]["start"])
        d = client.describe_capture("demo")
        assert d.capture == "demo" and len(d.sessions) == 1 and d.sessions[0].clean
        assert {i.symbol for i in d.instruments} == {"AAPL", "MSFT", "BTC-USD"}
        assert any(g.kind == "gap" for g in d.gaps) and any(g.kind == "disconnected" for g in d.gaps)
        assert d.rows == captures["demo"]["events"]
        s = client.stats()
        assert s.rss_bytes > 0 and {x.stage for x in s.latency} >= {"dispatch_to_encoded", "encoded_to_socket", "dispatch_to_socket"}
        assert len(list(mdcap_client.subscribe(server.address, capture="sim"))) > 0
        before = {x.stage: x.count for x in client.stats(reset_latency=True).latency}
        assert before["dispatch_to_socket"] > 0 and before["dispatch_to_socket"] == before["encoded_to_socket"]
        after = {x.stage: x.count for x in client.stats().latency}
        assert after["dispatch_to_socket"] < before["dispatch_to_socket"]  # afresh (another test's stream may add a few)


def wait_for(condition: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_breaking_out_cancels_the_call(server: Server) -> None:
    with Client(server.address) as client:
        for n, _ in enumerate(mdcap_client.subscribe(server.address, capture="sim", speed="1x")):
            if n == 100:
                break
        wait_for(lambda: not [s for s in client.stats().subscribers if "sim" in s.source], "the server to drop the subscriber")


def test_close_from_another_thread_ends_the_iteration(server: Server) -> None:
    sub = mdcap_client.subscribe(server.address, capture="sim", speed="1x")
    first = next(sub)
    timer = threading.Timer(0.5, sub.close)
    timer.start()
    rest = list(sub)  # blocks on 1x pacing until close()
    timer.join()
    assert first.ts_recv > 0 and len(rest) < 100_000


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, status, code",
    [
        ({"capture": "nope"}, grpc.StatusCode.NOT_FOUND, "MDCAP_ERR_SOURCE_NOT_FOUND"),
        ({"live": "kraken"}, grpc.StatusCode.NOT_FOUND, "MDCAP_ERR_SOURCE_NOT_FOUND"),
        ({"capture": "demo", "symbols": ["AAPL", "ZZZ"]}, grpc.StatusCode.NOT_FOUND, "MDCAP_ERR_UNKNOWN_SYMBOL"),
        ({"capture": "demo", "speed": "fast"}, grpc.StatusCode.INVALID_ARGUMENT, "MDCAP_ERR_INVALID_OPTION"),
        ({"capture": "demo", "speed": "-2x"}, grpc.StatusCode.INVALID_ARGUMENT, "MDCAP_ERR_INVALID_OPTION"),
        ({"capture": "demo", "bars": [0]}, grpc.StatusCode.INVALID_ARGUMENT, "MDCAP_ERR_BAR_INTERVAL"),
        ({"capture": "demo", "kinds": "trades,bars"}, grpc.StatusCode.INVALID_ARGUMENT, "MDCAP_ERR_BAD_REQUEST"),
        ({"capture": "demo", "from_ns": 10, "to_ns": 5}, grpc.StatusCode.INVALID_ARGUMENT, "MDCAP_ERR_REPLAY_RANGE"),
    ],
)
def test_bad_requests(server: Server, kwargs: Dict[str, Any], status: grpc.StatusCode, code: str) -> None:
    with pytest.raises(MdcapError) as e:
        next(iter(mdcap_client.subscribe(server.address, **kwargs)))
    assert (e.value.status, e.value.code) == (status, code), e.value
    assert e.value.message and not e.value.message.startswith("MDCAP_ERR_")
    assert server.alive()


def test_unknown_capture_in_describe(server: Server) -> None:
    with pytest.raises(MdcapError) as e:
        mdcap_client.describe_capture(server.address, "nope")
    assert e.value.status == grpc.StatusCode.NOT_FOUND and e.value.code is not None and e.value.code.startswith("MDCAP_ERR_")


def test_token(token_server: Server) -> None:
    for token in (None, "wrong"):
        with pytest.raises(MdcapError) as e:
            next(iter(mdcap_client.subscribe(token_server.address, capture="demo", token=token)))
        assert (e.value.status, e.value.code) == (grpc.StatusCode.UNAUTHENTICATED, "MDCAP_ERR_UNAUTHENTICATED")
    with pytest.raises(MdcapError) as e:
        mdcap_client.list_sources(token_server.address)
    assert e.value.status == grpc.StatusCode.UNAUTHENTICATED
    first = next(iter(mdcap_client.subscribe(token_server.address, capture="demo", token="s3cret")))
    assert first.type == "status" and first.kind == "connected"
    assert [c.capture for c in mdcap_client.list_sources(token_server.address, token="s3cret").captures]


# --- the command line and the README ---------------------------------------------------------


def run_cli(*args: str, env: Any = None) -> "subprocess.CompletedProcess[bytes]":
    return subprocess.run([sys.executable, "-m", "mdcap_client", *args], capture_output=True, cwd=str(CLIENT_ROOT), timeout=300, check=False, env=env)


def test_cli_subscribe_prints_replays_bytes(server: Server, captures: Dict[str, Any]) -> None:
    r = run_cli("subscribe", server.address, "--capture", "demo", "--bars", "1,5")
    assert r.returncode == 0, r.stderr
    assert r.stdout == replayed(cap(captures, "demo"), "--bars", "1,5")
    top = run_cli("subscribe", server.address, "--capture", "demo", "--kinds", "top", "--depth", "3", "--speed", "max")
    assert top.stdout == replayed(cap(captures, "demo"), "--print", "top", "--depth", "3")


def test_cli_info_commands(server: Server) -> None:
    import json

    sources = run_cli("sources", server.address)
    assert sources.returncode == 0 and "demo" in [c["capture"] for c in json.loads(sources.stdout)["captures"]]
    describe = run_cli("describe", server.address, "demo")
    d = json.loads(describe.stdout)
    assert d["capture"] == "demo" and d["instruments"][0]["type"] == "instrument" and isinstance(d["sessions"][0]["start"], str)
    stats = run_cli("stats", server.address)
    assert stats.returncode == 0 and json.loads(stats.stdout)["rssBytes"] > 0
    assert run_cli("stats", "--reset-latency", server.address).returncode == 0


def test_cli_errors(server: Server, token_server: Server) -> None:
    r = run_cli("subscribe", server.address, "--capture", "nope")
    assert r.returncode == 2 and r.stdout == b""
    assert re.fullmatch(rb"mdcap_client: MDCAP_ERR_SOURCE_NOT_FOUND: .+\n", r.stderr), r.stderr
    r = run_cli("subscribe", token_server.address, "--capture", "demo")
    assert r.returncode == 2 and r.stderr.startswith(b"mdcap_client: MDCAP_ERR_UNAUTHENTICATED: ")
    r = run_cli("subscribe", server.address, "--capture", "demo", "--speed", "fast")
    assert r.returncode == 2 and r.stderr.startswith(b"mdcap_client: MDCAP_ERR_INVALID_OPTION: speed")


def test_readme_example_runs_as_written(server: Server) -> None:
    """The README's two lines, with only the address changed to this test server's (it uses a free port, not 50051)."""
    readme = (CLIENT_ROOT / "README.md").read_text()
    code = re.search(r"```python\n(import mdcap_client\n.*?)```", readme, re.S)
    assert code is not None, "the README's Python example"
    source = code.group(1)
    assert source.count("127.0.0.1:50051") == 1 and len(source.strip().splitlines()) == 2
    t0 = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-c", source.replace("127.0.0.1:50051", server.address)],
        capture_output=True, text=True, cwd=str(CLIENT_ROOT), timeout=120, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 >= DEMO_SECONDS / 10 * 0.9  # it did run at 10x
    want = [repr(e) for e in mdcap_client.subscribe(server.address, capture="demo", symbols=["AAPL"])]
    assert r.stdout.split("\n")[:-1] == want and any(w.startswith("Trade(") for w in want)


def test_repo_root_layout() -> None:
    # The tests find the repository's CLI relative to clients/python.
    assert (REPO / "proto" / "mdcap" / "v1" / "events.proto").exists()
