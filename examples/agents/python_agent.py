"""A process agent in Python, standard library only.

The kernel starts it (SPAWN, or a `process` child of kernel.supervise) with
AGENTOS_SOCKET, AGENTOS_AGENT_ID and a one-use AGENTOS_AGENT_TOKEN in its environment.
Presenting the token in HELLO binds this connection to the agent the kernel spawned, so
its syscalls are that agent's. Frames are '<IIBQ': magic, agent id, opcode, length.

Usage (as the kernel runs it): python3 python_agent.py SOCKET [OUTPUT_FILE]
"""
import json
import os
import socket
import struct
import sys

MAGIC, HEADER = 0x41474E54, struct.Struct("<IIBQ")
EXEC, WRITE, HELLO, EXIT = 0x02, 0x04, 0xFE, 0xFF

sock = socket.socket(socket.AF_UNIX)
sock.connect(os.environ["AGENTOS_SOCKET"])
replies = sock.makefile("rb")


def call(opcode, request):
    body = json.dumps(request).encode()
    sock.sendall(HEADER.pack(MAGIC, 0, opcode, len(body)) + body)
    _magic, _agent, _op, length = HEADER.unpack(replies.read(HEADER.size))
    reply = json.loads(replies.read(length))
    if isinstance(reply, dict) and reply.get("success") is False:
        raise RuntimeError(f"{reply.get('code')}: {reply.get('error')}")
    return reply


me = call(HELLO, {"token": os.environ["AGENTOS_AGENT_TOKEN"], "client": "python-example"})
said = call(EXEC, {"command": "echo hello from python"})["stdout"].strip()
if len(sys.argv) > 2:
    call(WRITE, {"path": sys.argv[2], "content": f"agent {me['agent_id']} ({me['name']}) said: {said}\n"})
print(f"agent {me['agent_id']} said: {said}")
call(EXIT, {})
