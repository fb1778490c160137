"""A mapper in plain Python (standard library only), speaking the AGNT wire protocol.

The kernel SPAWNs it with AGENTOS_SOCKET and a one-use AGENTOS_AGENT_TOKEN; HELLO with
the token makes this connection the spawned agent. Frames are '<IIBQ' (magic, agent id,
opcode, payload length) then UTF-8 JSON, replies in the order of the requests.
It takes the role "mapper" (REGISTER), long-polls its mailbox (RECV) and answers each
task.assigned message with TASK_COMPLETE: the word counts of the text in its input,
counted as words.ts counts them (lower case, runs of ASCII letters).

Usage (as run.ts spawns it; the kernel puts its socket path first): python3 worker.py SOCKET [READY_TO]
"""
import json
import os
import re
import socket
import struct
import sys

MAGIC, HEADER = 0x41474E54, struct.Struct("<IIBQ")
SEND, RECV, REGISTER, TASK_COMPLETE, HELLO = 0x20, 0x21, 0x23, 0x83, 0xFE

sock = socket.socket(socket.AF_UNIX)
sock.connect(os.environ["AGENTOS_SOCKET"])
replies = sock.makefile("rb")


class KernelError(Exception):
    def __init__(self, reply):
        super().__init__(f"{reply.get('code')}: {reply.get('error')}")
        self.code = reply.get("code")


def call(opcode, request):
    body = json.dumps(request, separators=(",", ":")).encode()
    sock.sendall(HEADER.pack(MAGIC, 0, opcode, len(body)) + body)
    magic, _agent, _op, length = HEADER.unpack(replies.read(HEADER.size))
    if magic != MAGIC:
        raise RuntimeError(f"bad magic 0x{magic:x} in a reply")
    reply = json.loads(replies.read(length))
    if isinstance(reply, dict) and reply.get("success") is False:
        raise KernelError(reply)
    return reply


def count_words(text):
    counts = {}
    for word in re.findall(r"[a-z]+", text.lower()):
        counts[word] = counts.get(word, 0) + 1
    return counts


me = call(HELLO, {"token": os.environ["AGENTOS_AGENT_TOKEN"], "client": "orchestrator-example-py"})
call(REGISTER, {"role": "mapper"})
if len(sys.argv) > 2:
    call(SEND, {"to_name": sys.argv[2], "message": {"ready": me["agent_id"], "roles": ["mapper"]}})

while True:
    for envelope in call(RECV, {"max": 10, "wait_ms": 10000})["messages"]:
        task = envelope["message"]
        if not isinstance(task, dict) or task.get("type") != "task.assigned":
            continue
        result = count_words(task["input"]["text"])
        try:
            call(TASK_COMPLETE, {"task_id": task["task_id"], "subtask_id": task["subtask_id"], "result": result})
        except KernelError as error:  # cancelled or reassigned meanwhile: the kernel decided
            print(f"worker.py: {task['subtask_id']}: {error}", file=sys.stderr)
