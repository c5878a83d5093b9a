"""How many events per second the Python client takes from ``mdcap serve`` at speed max.

    python3 clients/python/bench/throughput.py ADDRESS CAPTURE [--mode raw,batches,events,json,frames] [--repeat 3]

A large capture to measure with (1.9 M events of the simulated venue, made in ~20 s), and a server:

    node clients/python/tests/support/make_capture.mjs /tmp/bigcap/big --seconds 200 --pps 5000 --gap-every 2000
    ./mdcap serve --captures /tmp/bigcap --listen 127.0.0.1:50051

Modes, from the cheapest to the most work per event:

- ``raw``: the ``EventBatch`` bytes as received, not even parsed (the server and gRPC's ceiling);
- ``batches``: :func:`mdcap_client.subscribe_batches`, the parsed protobuf batches;
- ``events``: :func:`mdcap_client.subscribe`, a frozen dataclass with Decimals per event;
- ``json``: ``subscribe`` plus ``to_json()`` of every event (what ``python -m mdcap_client`` does);
- ``frames``: :func:`mdcap_client.subscribe_frames`, pandas DataFrames of 100k rows.

Each run streams the whole capture; the best of ``--repeat`` runs is reported per mode, one
JSON line each: {"mode", "events", "seconds", "events_per_s", "cpu_s"}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Callable, Dict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import grpc  # noqa: E402

import mdcap_client  # noqa: E402
from mdcap_client import subscribe_request  # noqa: E402


def raw(address: str, capture: str) -> int:
    """Streams the batches without parsing them; counts events with a cheap parse of the count only at the end."""
    channel = grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 256 << 20)])
    call = channel.unary_stream("/mdcap.v1.MarketData/Subscribe", request_serializer=lambda m: m.SerializeToString(), response_deserializer=None)
    n_bytes = 0
    for data in call(subscribe_request(capture=capture)):
        n_bytes += len(data)
    channel.close()
    return -n_bytes  # bytes, not events: reported separately


def batches(address: str, capture: str) -> int:
    n = 0
    for batch in mdcap_client.subscribe_batches(address, capture=capture):
        n += len(batch.events)
    return n


def events(address: str, capture: str) -> int:
    n = 0
    for _ in mdcap_client.subscribe(address, capture=capture):
        n += 1
    return n


def json_lines(address: str, capture: str) -> int:
    n = 0
    for e in mdcap_client.subscribe(address, capture=capture):
        e.to_json()
        n += 1
    return n


def frames(address: str, capture: str) -> int:
    n = 0
    for chunk in mdcap_client.subscribe_frames(address, capture=capture, rows=100_000):
        n += sum(len(df) for df in chunk.values())
    return n


MODES: Dict[str, Callable[[str, str], int]] = {"raw": raw, "batches": batches, "events": events, "json": json_lines, "frames": frames}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("address")
    p.add_argument("capture")
    p.add_argument("--mode", default="raw,batches,events,json")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    for mode in a.mode.split(","):
        best: Dict[str, Any] = {}
        for _ in range(a.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            n = MODES[mode](a.address, a.capture)
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            result = {"mode": mode, "seconds": round(dt, 3), "cpu_s": round(cpu, 3)}
            if n < 0:
                result.update(bytes=-n, mb_per_s=round(-n / dt / 1e6, 1))
            else:
                result.update(events=n, events_per_s=round(n / dt))
            if not best or dt < best["seconds"]:
                best = result
        print(json.dumps(best), flush=True)


if __name__ == "__main__":
    main()
