"""SEND -> RECV end to end with the Python client (test/python/agentos_client.py).

The Python side of bench/ipc-load.ts: --receivers processes each loop on
RECV {max: 100, wait_ms: 1000} (a long poll); --senders processes each write --window
SEND frames at once (send_raw, built with the client's pack_frame), then read the
--window replies (recv_reply), and again. Messages are counted at the receivers, in a
window every process agrees on (time.monotonic, CLOCK_MONOTONIC, shared by all
processes on the machine). A refused SEND (QUOTA_EXCEEDED: a full mailbox) is counted
and its sender pauses 1 ms. Processes, not threads: the GIL would serialise threads.

The destination is in the JSON ("to", read by the kernel) and in the frame header's
agent_id (read by the relay floor, bench/floor-relay-server.ts), so the same script runs
against both.

Usage: python3 bench/python/ipc_bench.py --socket PATH [--senders 2] [--receivers 2]
       [--window 64] [--message-bytes 64] [--duration-ms 3000] [--warmup-ms 500]
Prints {"phase": "measure"|"end", "cpu_ms": ...} lines (this process and its children)
around the window, then one JSON result line.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "python"))
from agentos_client import AgentOSClient, pack_frame  # noqa: E402

OP_SEND = 0x20
OP_RECV = 0x21
TICK_MS = 10  # /proc times are in 1/100 s
LINGER_S = 0.5  # receivers go on this long after the window, so no sender meets a closed one


def option(name: str, default: str) -> str:
    flag = f"--{name}"
    return sys.argv[sys.argv.index(flag) + 1] if flag in sys.argv else default


def cpu_ms(pids: list[int]) -> float:
    """utime + stime of these processes, all threads, from /proc (ms)."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) * TICK_MS
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def phase(name: str, pids: list[int]) -> None:
    print(json.dumps({"phase": name, "cpu_ms": cpu_ms(pids)}), flush=True)


def receiver(path: str, idx: int, ready, go, results) -> None:
    client = AgentOSClient(path, timeout=30)
    client.hello(name=f"py-bench-rx-{idx}")
    ready.put(("rx", idx, client.agent_id))
    t_start, t_end = go.recv()
    request = {"max": 100, "wait_ms": 1000}
    count = replies = 0
    while True:
        _, _, reply = client.call(OP_RECV, request)
        now = time.monotonic()
        if not reply.get("success"):
            raise RuntimeError(f"RECV failed: {reply}")
        if t_start <= now < t_end:
            count += len(reply["messages"])
            replies += 1
        # Past the window, keep receiving a little: the senders' last batches are in flight.
        if now >= t_end + LINGER_S:
            break
    results.put(("rx", idx, {"received": count, "replies": replies}))
    client.close()


def sender(path: str, idx: int, window: int, body: dict, ready, go, results) -> None:
    client = AgentOSClient(path, timeout=30)
    client.hello(name=f"py-bench-tx-{idx}")
    ready.put(("tx", idx, client.agent_id))
    ids, t_start, t_end = go.recv()
    acked = refused = 0
    turn = idx
    while True:
        dests = [ids[(turn + j) % len(ids)] for j in range(window)]
        turn += window
        client.send_raw(b"".join(pack_frame(OP_SEND, {"to": d, "message": body}, agent_id=d) for d in dests))
        full = 0
        for _ in dests:
            _, _, reply = client.recv_reply()
            if reply.get("success"):
                continue
            if reply.get("code") == "NOT_FOUND" and time.monotonic() >= t_end + LINGER_S:
                continue  # a receiver already gone, after the window
            if reply.get("code") != "QUOTA_EXCEEDED":
                raise RuntimeError(f"SEND failed: {reply}")
            full += 1
        now = time.monotonic()
        if t_start <= now < t_end:
            acked += window - full
            refused += full
        if now >= t_end:
            break
        if full:
            time.sleep(0.001)
    results.put(("tx", idx, {"acked": acked, "refused": refused}))
    client.close()


def main() -> None:
    path = option("socket", "")
    if not path:
        sys.exit("usage: ipc_bench.py --socket PATH [...]")
    senders = int(option("senders", "2"))
    receivers = int(option("receivers", "2"))
    window = int(option("window", "64"))
    message_bytes = int(option("message-bytes", "64"))
    duration_s = int(option("duration-ms", "3000")) / 1000
    warmup_s = int(option("warmup-ms", "500")) / 1000
    body = {"pad": "x" * max(0, message_bytes - 10)}

    ctx = mp.get_context("fork")
    ready, results = ctx.Queue(), ctx.Queue()
    procs, pipes = [], []
    for i in range(receivers):
        parent_end, child_end = ctx.Pipe()
        procs.append(ctx.Process(target=receiver, args=(path, i, ready, child_end, results), daemon=True))
        pipes.append(("rx", parent_end))
    for i in range(senders):
        parent_end, child_end = ctx.Pipe()
        procs.append(ctx.Process(target=sender, args=(path, i, window, body, ready, child_end, results), daemon=True))
        pipes.append(("tx", parent_end))
    for p in procs:
        p.start()
    ids: dict[int, int] = {}
    for _ in procs:
        kind, idx, agent_id = ready.get(timeout=30)
        if kind == "rx":
            ids[idx] = agent_id
    rx_ids = [ids[i] for i in range(receivers)]
    t_start = time.monotonic() + warmup_s
    t_end = t_start + duration_s
    for kind, end in pipes:
        end.send((t_start, t_end) if kind == "rx" else (rx_ids, t_start, t_end))
    pids = [os.getpid()] + [p.pid for p in procs]
    time.sleep(max(0.0, t_start - time.monotonic()))
    phase("measure", pids)
    time.sleep(max(0.0, t_end - time.monotonic()))
    phase("end", pids)
    received = replies = acked = refused = 0
    for _ in procs:
        kind, _idx, r = results.get(timeout=30)
        if kind == "rx":
            received += r["received"]
            replies += r["replies"]
        else:
            acked += r["acked"]
            refused += r["refused"]
    for p in procs:
        p.join(timeout=10)
    elapsed_ms = duration_s * 1000
    print(json.dumps({
        "client": "python",
        "python": sys.version.split()[0],
        "senders": senders,
        "receivers": receivers,
        "window": window,
        "message_bytes": message_bytes,
        "calls": received,
        "elapsed_ms": elapsed_ms,
        "messages_per_s": round(received / duration_s),
        "sends_acked_per_s": round(acked / duration_s),
        "refused": refused,
        "messages_per_recv_reply": round(received / max(1, replies), 1),
    }), flush=True)


if __name__ == "__main__":
    main()
