"""``python -m mdcap_client``: subscribe to ``mdcap serve`` from a shell and print JSON lines."""

from __future__ import annotations

import argparse
import calendar
import json
import os
import re
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO

from . import __version__
from .client import KINDS, Client, subscribe_request
from .convert import events_of
from .errors import MdcapError

PROG = "mdcap_client"

DESCRIPTION = """\
The Python client of `mdcap serve`: stream a replayed capture or a live feed and print every
event as one canonical JSON line, the very bytes `mdcap replay CAP --json` prints; list the
server's sources, describe a capture, show the server's statistics."""

EPILOG = """\
examples:
  python -m mdcap_client sources 127.0.0.1:50051
      the live feeds and captures the server offers
  python -m mdcap_client subscribe 127.0.0.1:50051 --capture demo --bars 60 > demo.jsonl
      every callback of a replay, as fast as it goes: the same bytes as
      `mdcap replay CAPTURES/demo --speed max --bars 60 --json`
  python -m mdcap_client subscribe 127.0.0.1:50051 --capture demo --speed 10x --symbols AAPL --kinds trades,bars --bars 10
      AAPL's trades and 10-second bars, ten times faster than recorded
  python -m mdcap_client subscribe 127.0.0.1:50051 --capture lob --kinds top --depth 5
      the best 5 levels after every book or order event (`mdcap replay --print top --depth 5 --json`)
  python -m mdcap_client subscribe 10.0.0.5:50051 --live kraken --symbols XBT/USD --token "$TOKEN" --policy drop-oldest
      a live feed the server runs, dropping (and saying so) rather than falling behind
  python -m mdcap_client describe 127.0.0.1:50051 demo
      sessions, symbols, scales and recorded gaps of a capture

Errors are printed as one line, `mdcap_client: MDCAP_ERR_…: message`, with exit code 2.
The token defaults to $MDCAP_TOKEN. Documentation: docs/serve.md, clients/python/README.md."""

_ISO = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z$")


def _time_ns(text: str) -> int:
    """Integer ns since the epoch, or an ISO 8601 UTC time (``2024-01-02T14:31:00.5Z``)."""
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    m = _ISO.match(text)
    if m is None:
        raise argparse.ArgumentTypeError(f"expected ns since the epoch or an ISO time such as 2024-01-02T14:31:00Z, found {text!r}")
    y, mo, d, h, mi, s, frac = m.groups()
    seconds = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(s), 0, 0, 0))
    return seconds * 1_000_000_000 + int((frac or "").ljust(9, "0"))


def _int_list(text: str) -> List[int]:
    try:
        return [int(x) for x in text.split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers such as 60,300, found {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(prog=f"python -m {PROG}", description=DESCRIPTION, epilog=EPILOG, formatter_class=fmt)
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("address", metavar="ADDRESS", help="the server, host:port (127.0.0.1:50051)")
        q.add_argument("--token", default=os.environ.get("MDCAP_TOKEN"), help="the server's --token (default: $MDCAP_TOKEN)")
        q.add_argument("--tls", action="store_true", help="connect with TLS (system root certificates)")
        q.add_argument("--root-cert", metavar="PEM", help="connect with TLS, trusting this root certificate (a self-signed --tls-cert)")
        q.add_argument("--server-name", metavar="NAME", help="TLS: the name the server's certificate is for, when ADDRESS is not it")
        q.add_argument("--timeout", type=float, metavar="SECONDS", help="give up after this long (default: subscribe never, others 30 s)")

    s = sub.add_parser(
        "subscribe",
        help="stream events as canonical JSON lines (like mdcap replay --json)",
        description="Stream a capture replay (--capture) or a live feed (--live) and print one canonical JSON line per event.",
        epilog=EPILOG,
        formatter_class=fmt,
    )
    common(s)
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--capture", metavar="NAME", help="replay this capture (a directory under the server's --captures)")
    src.add_argument("--live", metavar="FEED", help="stream this live feed of the server")
    s.add_argument("--speed", default="max", help="replay pace: max (default) or a multiple of real time: 1x, 10x, 0.5x")
    s.add_argument("--symbols", metavar="A,B", help="comma-separated symbols (default: all of the source)")
    s.add_argument(
        "--kinds",
        metavar="K,K",
        help=f"what to print, comma-separated: {', '.join(KINDS)} (or replay's names: trades, quotes, orders, bars, top); "
        "default: trade, quote, book, order, bar, status",
    )
    s.add_argument("--bars", type=_int_list, metavar="S,S", help="build bars of these intervals in seconds: 60 or 60,300")
    s.add_argument("--depth", type=int, metavar="N", help="levels per side of book snapshots (kinds top/snapshot; default 10 with them)")
    s.add_argument("--cadence-ns", type=int, default=0, metavar="NS", help="at most one snapshot per symbol every NS (default: after every update)")
    s.add_argument("--from", dest="from_ns", type=_time_ns, metavar="TIME", help="start at this ts_recv: ns since the epoch or 2024-01-02T14:31:00Z")
    s.add_argument("--to", dest="to_ns", type=_time_ns, metavar="TIME", help="stop before this ts_recv (same forms)")
    s.add_argument("--policy", default="block", choices=["block", "drop-oldest", "disconnect"], help="when this client falls behind (default block)")
    s.add_argument("--queue-batches", type=int, metavar="N", help="batches the server may queue for this client (default 64)")
    s.add_argument("--batch-events", type=int, metavar="N", help="events per batch (default 1024)")

    sources = sub.add_parser("sources", help="list the server's live feeds and captures (JSON)", formatter_class=fmt)
    common(sources)
    describe = sub.add_parser("describe", help="describe a capture: sessions, symbols, scales, gaps (JSON)", formatter_class=fmt)
    common(describe)
    describe.add_argument("capture", metavar="CAPTURE", help="the capture's name (see sources)")
    st = sub.add_parser("stats", help="the server's subscribers and latency percentiles per stage (JSON)", formatter_class=fmt)
    common(st)
    st.add_argument("--reset-latency", action="store_true", help="then start the latency histograms afresh (the next call reports that interval)")
    return p


def _client(a: argparse.Namespace) -> Client:
    tls: Any = a.root_cert if a.root_cert else (True if a.tls else None)
    return Client(a.address, token=a.token, tls=tls, tls_server_name=a.server_name)


def _subscribe(a: argparse.Namespace, out: TextIO) -> None:
    kinds: Optional[List[str]] = None if a.kinds is None else [k for k in a.kinds.split(",") if k]
    depth = a.depth
    if depth is None:
        depth = 10 if kinds is not None and any(k in ("top", "snapshot", "snapshots") for k in kinds) else 0
    request = dict(
        capture=a.capture, live=a.live, speed=a.speed, symbols=a.symbols, kinds=kinds or (), bars=a.bars, depth=depth,
        cadence_ns=a.cadence_ns, policy=a.policy, from_ns=a.from_ns, to_ns=a.to_ns,
        queue_batches=a.queue_batches, batch_events=a.batch_events,
    )  # fmt: skip
    subscribe_request(**request)  # argument errors before connecting
    write = out.write
    flush = out.flush
    with _client(a) as client, client.subscribe_batches(timeout=a.timeout, **request) as batches:
        for batch in batches:
            events = events_of(batch)
            if events:
                write("\n".join([e.to_json() for e in events]))
                write("\n")
                flush()  # a live feed's lines show as they come


def _print_json(value: Dict[str, Any], out: TextIO) -> None:
    out.write(json.dumps(value, ensure_ascii=False, indent=2))
    out.write("\n")


def _info(call: Callable[[Client, argparse.Namespace, float], Any]) -> Callable[[argparse.Namespace, TextIO], None]:
    """A command that makes one call and prints its answer as indented JSON."""

    def run(a: argparse.Namespace, out: TextIO) -> None:
        with _client(a) as client:
            _print_json(call(client, a, a.timeout or 30.0).to_dict(), out)

    return run


_COMMANDS: Dict[str, Callable[[argparse.Namespace, TextIO], None]] = {
    "subscribe": _subscribe,
    "sources": _info(lambda c, a, t: c.list_sources(timeout=t)),
    "describe": _info(lambda c, a, t: c.describe_capture(a.capture, timeout=t)),
    "stats": _info(lambda c, a, t: c.stats(reset_latency=a.reset_latency, timeout=t)),
}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command line; returns the exit code (0 ok, 2 an error, 130 interrupted)."""
    args = _parser().parse_args(argv)
    try:
        _COMMANDS[args.command](args, sys.stdout)
        sys.stdout.flush()
    except MdcapError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): not an error; keep Python from complaining at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
