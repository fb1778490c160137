"""SPAWN from Python (standard library only): start python_agent.py as a supervised agent.

SPAWN needs the spawn right: present the admin token (the kernel writes it to
<data-dir>/admin.token) or run the kernel with --level unrestricted.

Usage: python3 spawn.py [OUTPUT_FILE]   (env: AGENTOS_SOCKET, AGENTOS_DATA_DIR)
"""
import json
import os
import socket
import struct
import sys

s = socket.socket(socket.AF_UNIX)
s.connect(os.environ.get("AGENTOS_SOCKET", "/tmp/agentos.sock"))
r = s.makefile("rb")


def call(op, request):
    body = json.dumps(request).encode()
    s.sendall(struct.pack("<IIBQ", 0x41474E54, 0, op, len(body)) + body)
    n = struct.unpack("<IIBQ", r.read(17))[3]
    return json.loads(r.read(n))


data_dir = os.environ.get("AGENTOS_DATA_DIR", os.path.expanduser("~/.agentos/data"))
with open(os.path.join(data_dir, "admin.token")) as f:
    call(0xFE, {"token": f.read().strip()})  # HELLO as admin
script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "python_agent.py")
reply = call(0x10, {"name": "py-agent", "script": script, "args": sys.argv[1:], "restart_policy": "on-failure"})  # SPAWN
print(json.dumps({k: reply.get(k) for k in ("success", "agent_id", "name", "pid", "restart_policy", "error")}))
