"""The spawn-latency agent in Python (standard library only): the same steps as
hello-agent.mjs. Connect to argv[1], send one HELLO with $AGENTOS_AGENT_TOKEN, wait for
the reply, then send the times (CLOCK_MONOTONIC in ms, shared by every process on the
machine) as one JSON line to the report socket argv[2], and exit.
"""
import json
import os
import socket
import struct
import sys
import time


def now():
    return time.monotonic_ns() / 1e6


started = now()
HEADER = struct.Struct("<IIBQ")
MAGIC, HELLO = 0x41474E54, 0xFE

body = json.dumps({"token": os.environ.get("AGENTOS_AGENT_TOKEN"), "client": "agentos-bench"}).encode()
sock = socket.socket(socket.AF_UNIX)
sock.connect(sys.argv[1])
sent = now()
sock.sendall(HEADER.pack(MAGIC, 0, HELLO, len(body)) + body)
replies = sock.makefile("rb")
_magic, _agent, opcode, length = HEADER.unpack(replies.read(HEADER.size))
payload = replies.read(length)
replied = now()
try:
    ok = opcode == HELLO and json.loads(payload).get("success") is not False
except ValueError:
    ok = False
sock.close()

report = socket.socket(socket.AF_UNIX)
report.connect(sys.argv[2])
line = {"pid": os.getpid(), "started": started, "sent": sent, "replied": replied, "ok": ok}
report.sendall((json.dumps(line) + "\n").encode())
report.close()
