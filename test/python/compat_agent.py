#!/usr/bin/env python3
"""Wire-compatibility agent: behaves like an agent written for the original AgentOS kernel.

Usage: python3 compat_agent.py SOCKET_PATH WORKDIR

Runs a fixed sequence of syscalls over the binary AGNT protocol and prints exactly one
line of JSON to stdout:
    {"ok": true, "agent_id": N, "checks": K}            exit status 0
    {"ok": false, "error": "..."}                        exit status 1 (2 on bad usage)
Diagnostics (tracebacks) go to stderr only.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from agentos_client import (  # noqa: E402
    OP_EXEC,
    OP_EXIT,
    OP_HELLO,
    OP_NOOP,
    OP_READ,
    OP_WRITE,
    AgentOSClient,
    pack_frame,
)

PIPELINE_COUNT = 50
UNKNOWN_OPCODE = 0x42


class CheckFailed(Exception):
    pass


class Checker:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, condition: bool, message: str) -> None:
        if not condition:
            raise CheckFailed(message)
        self.count += 1

    def success(self, step: str, reply: object) -> dict:
        self(isinstance(reply, dict), f"{step}: reply is not a JSON object: {reply!r}")
        assert isinstance(reply, dict)
        self(reply.get("success") is True, f"{step}: expected success true, got {reply!r}")
        return reply

    def failure(self, step: str, reply: object, code: str) -> dict:
        self(isinstance(reply, dict), f"{step}: reply is not a JSON object: {reply!r}")
        assert isinstance(reply, dict)
        self(reply.get("success") is False, f"{step}: expected success false, got {reply!r}")
        self(reply.get("code") == code, f"{step}: expected code {code}, got {reply.get('code')!r}")
        self(isinstance(reply.get("error"), str) and reply["error"] != "",
             f"{step}: failure without an error message: {reply!r}")
        return reply


def run(socket_path: str, workdir: str) -> tuple[int, int]:
    check = Checker()
    client = AgentOSClient(socket_path)
    client.connect()
    agent_id: int | None = None  # learned from HELLO

    def track(step: str, opcode: int) -> None:
        """Check the header of the reply just received."""
        check(client.last_opcode == opcode,
              f"{step}: reply opcode {client.last_opcode!r}, expected 0x{opcode:02X}")
        if agent_id is not None:
            check(client.last_agent_id == agent_id,
                  f"{step}: reply header agent_id {client.last_agent_id}, HELLO returned {agent_id}")

    def call(step: str, opcode: int, payload: object) -> object:
        reply = client.call(opcode, payload)[2]  # type: ignore[arg-type]
        track(step, opcode)
        return reply

    try:
        # NOOP echoes its bytes (sent before HELLO: its agent_id is checked below).
        echo = call("NOOP", OP_NOOP, b"ping")
        noop_agent_id = client.last_agent_id
        check(echo == b"ping", f"NOOP: expected echo b'ping', got {echo!r}")

        # HELLO: learn our agent id (prints nothing).
        token_sent = bool(os.environ.get("AGENTOS_AGENT_TOKEN"))
        hello = check.success("HELLO", client.hello(name="py-compat"))
        hello_id = hello.get("agent_id")
        check(isinstance(hello_id, int) and not isinstance(hello_id, bool) and 0 <= hello_id <= 0xFFFFFFFF,
              f"HELLO: agent_id is not a u32: {hello_id!r}")
        agent_id = hello_id
        track("HELLO", OP_HELLO)
        for field in ("protocol_version", "kernel_version"):
            check(field in hello, f"HELLO: reply lacks {field}: {hello!r}")
        check(isinstance(hello.get("features"), list), f"HELLO: features is not a list: {hello!r}")
        check(isinstance(hello.get("limits"), dict), f"HELLO: limits is not an object: {hello!r}")
        # The connection has its id before HELLO, unless a spawn token rebinds it.
        if not token_sent:
            check(noop_agent_id == agent_id,
                  f"NOOP: reply header agent_id {noop_agent_id}, HELLO returned {agent_id}")

        # EXEC: stdout, stderr and exit code kept apart.
        ex = check.success("EXEC", client.exec("echo hello; echo err >&2; exit 3"))
        track("EXEC", OP_EXEC)
        check(ex.get("stdout") == "hello\n", f"EXEC: stdout {ex.get('stdout')!r}, expected 'hello\\n'")
        check(ex.get("stderr") == "err\n", f"EXEC: stderr {ex.get('stderr')!r}, expected 'err\\n'")
        check(ex.get("exit_code") == 3, f"EXEC: exit_code {ex.get('exit_code')!r}, expected 3")
        check(ex.get("timed_out") is False, f"EXEC: timed_out {ex.get('timed_out')!r}, expected false")

        # WRITE then READ back.
        path = os.path.join(os.path.abspath(workdir), "py.txt")
        text = "from python"
        size = len(text.encode())
        wr = check.success("WRITE", client.write(path, text))
        track("WRITE", OP_WRITE)
        check(wr.get("bytes_written") == size, f"WRITE: bytes_written {wr.get('bytes_written')!r}, expected {size}")

        rd = check.success("READ", client.read(path))
        track("READ", OP_READ)
        check(rd.get("content") == text, f"READ: content {rd.get('content')!r}, expected {text!r}")
        check(rd.get("size") == size, f"READ: size {rd.get('size')!r}, expected {size}")

        # READ as base64.
        rb = check.success("READ base64", client.read(path, encoding="base64"))
        track("READ base64", OP_READ)
        check(rb.get("encoding") == "base64", f"READ base64: encoding {rb.get('encoding')!r}")
        try:
            decoded = base64.b64decode(rb.get("content", ""), validate=True)
        except Exception as exc:  # binascii.Error, TypeError
            raise CheckFailed(f"READ base64: content is not base64: {rb.get('content')!r} ({exc})") from None
        check(decoded == text.encode(), f"READ base64: decoded {decoded!r}, expected {text.encode()!r}")

        # Pipelined burst: 50 NOOPs in one sendall(), replies in order.
        burst = b"".join(pack_frame(OP_NOOP, str(i).encode(), agent_id) for i in range(PIPELINE_COUNT))
        client.send_raw(burst)
        for i in range(PIPELINE_COUNT):
            payload = client.recv_reply()[2]
            track(f"pipelined NOOP {i}", OP_NOOP)
            check(payload == str(i).encode(), f"pipelined NOOP {i}: got {payload!r}, replies out of order")

        # Unknown opcode: error reply, connection stays open.
        check.failure("unknown opcode", call("unknown opcode", UNKNOWN_OPCODE, {}), "UNSUPPORTED_OPCODE")

        # Invalid JSON: error reply, connection stays open.
        check.failure("invalid JSON", call("invalid JSON", OP_EXEC, b'{"command": "echo x",'), "INVALID_REQUEST")

        # The connection still works after both errors.
        echo = call("NOOP after errors", OP_NOOP, b"still here")
        check(echo == b"still here", f"NOOP after errors: got {echo!r}")

        # EXIT: goodbye, then the kernel closes the connection.
        bye = check.success("EXIT", client.exit())
        track("EXIT", OP_EXIT)
        check(bye.get("goodbye") is True, f"EXIT: goodbye {bye.get('goodbye')!r}, expected true")
        check(bye.get("agent_id") == agent_id, f"EXIT: agent_id {bye.get('agent_id')!r}, expected {agent_id}")
        check(client.peer_closed(timeout=5.0), "EXIT: kernel did not close the connection within 5 s")
        return agent_id, check.count
    finally:
        client.close()


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(json.dumps({"ok": False, "error": "usage: compat_agent.py SOCKET_PATH WORKDIR"}), flush=True)
        return 2
    try:
        agent_id, checks = run(argv[1], argv[2])
    except CheckFailed as exc:
        print(json.dumps({"ok": False, "error": str(exc)}), flush=True)
        return 1
    except Exception as exc:  # connection refused, short read, bad frame...
        traceback.print_exc(file=sys.stderr)
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 1
    print(json.dumps({"ok": True, "agent_id": agent_id, "checks": checks}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
