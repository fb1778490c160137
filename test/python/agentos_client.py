"""Minimal AgentOS client speaking the binary AGNT protocol over a Unix socket.

It behaves like an agent written for the original AgentOS kernel (frames packed with
struct '<IIBQ', UTF-8 JSON payloads) and exists so the test suite can prove wire
compatibility. Python 3.11, standard library only.

Frame layout (protocol.md section 2), little-endian:
    magic u32 (0x41474E54 "AGNT") | agent_id u32 | opcode u8 | payload_len u64 | payload

    client = AgentOSClient("/tmp/agentos.sock")
    client.hello(name="demo")
    reply = client.exec("echo hi")
    client.exit()
    client.close()
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
from typing import Any

__all__ = [
    "AgentOSClient",
    "AgentOSError",
    "ProtocolError",
    "ConnectionClosedError",
    "MAGIC",
    "HEADER",
    "HEADER_SIZE",
    "DEFAULT_SOCKET",
    "OP_NOOP",
    "OP_EXEC",
    "OP_READ",
    "OP_WRITE",
    "OP_HELLO",
    "OP_EXIT",
    "pack_frame",
    "encode_payload",
]

MAGIC = 0x41474E54
HEADER = struct.Struct("<IIBQ")
HEADER_SIZE = HEADER.size  # 17
DEFAULT_SOCKET = "/tmp/agentos.sock"

OP_NOOP = 0x00
OP_EXEC = 0x02
OP_READ = 0x03
OP_WRITE = 0x04
OP_HELLO = 0xFE
OP_EXIT = 0xFF

_RECV_CHUNK = 1 << 20


class AgentOSError(Exception):
    """Base class for every error raised by this client."""


class ProtocolError(AgentOSError):
    """The kernel sent something that is not a valid AGNT frame / reply."""


class ConnectionClosedError(ProtocolError):
    """The socket was closed (or reset) before a complete frame arrived."""


def encode_payload(opcode: int, payload: dict | list | bytes | bytearray | str | None) -> bytes:
    """Turn a payload into frame bytes.

    bytes are sent as they are (so callers can send arbitrary or invalid data);
    str is UTF-8 encoded; dict/list are JSON encoded; None is an empty payload for
    NOOP and ``{}`` for every other opcode.
    """
    if payload is None:
        return b"" if opcode == OP_NOOP else b"{}"
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def pack_frame(opcode: int, payload: dict | list | bytes | str | None = None, agent_id: int = 0) -> bytes:
    """Build one complete AGNT frame (header + payload)."""
    if not 0 <= opcode <= 0xFF:
        raise ValueError(f"opcode out of range: {opcode!r}")
    body = encode_payload(opcode, payload)
    return HEADER.pack(MAGIC, agent_id & 0xFFFFFFFF, opcode, len(body)) + body


class AgentOSClient:
    """One connection (= one agent) to an AgentOS kernel.

    The socket is opened lazily on first use (or explicitly with ``connect()``).
    ``socket_path`` defaults to $AGENTOS_SOCKET, else /tmp/agentos.sock; command-line
    arguments are never consulted. ``timeout`` (seconds, None = block forever) applies
    to every socket operation.
    """

    def __init__(self, socket_path: str | None = None, timeout: float | None = 60.0):
        self.socket_path = socket_path or os.environ.get("AGENTOS_SOCKET") or DEFAULT_SOCKET
        self.timeout = timeout
        self.sock: socket.socket | None = None
        # Id learned from the kernel (HELLO reply, or the header of any reply).
        self.agent_id = 0
        # Header fields of the most recent reply frame.
        self.last_agent_id: int | None = None
        self.last_opcode: int | None = None

    # -- connection -------------------------------------------------------------

    def connect(self) -> "AgentOSClient":
        if self.sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.socket_path)
            except OSError as exc:
                sock.close()
                raise ConnectionClosedError(
                    f"cannot connect to AgentOS kernel at {self.socket_path}: {exc}"
                ) from exc
            self.sock = sock
        return self

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def __enter__(self) -> "AgentOSClient":
        return self.connect()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _socket(self) -> socket.socket:
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        return self.sock

    def peer_closed(self, timeout: float = 5.0) -> bool:
        """Wait up to ``timeout`` s for the kernel to close the connection.

        Returns True on EOF/reset, False if the socket is still open (or data arrived;
        that data is lost, so only use this when no more frames are expected).
        """
        sock = self._socket()
        previous = sock.gettimeout()
        sock.settimeout(timeout)
        try:
            return sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except (TimeoutError, socket.timeout):
            return False
        finally:
            try:
                sock.settimeout(previous)
            except OSError:
                pass

    # -- framing ----------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        """Send bytes as they are (for example several frames at once, to pipeline)."""
        try:
            self._socket().sendall(data)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise ConnectionClosedError(f"connection closed by kernel while sending: {exc}") from exc

    def send_frame(self, opcode: int, payload: dict | list | bytes | str | None = None) -> None:
        self.send_raw(pack_frame(opcode, payload, self.agent_id))

    def _recv_exactly(self, n: int, what: str) -> bytes:
        sock = self._socket()
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            try:
                k = sock.recv_into(view[got:], min(n - got, _RECV_CHUNK))
            except (TimeoutError, socket.timeout) as exc:
                raise AgentOSError(
                    f"timed out after {self.timeout}s waiting for {what} ({got} of {n} bytes received)"
                ) from exc
            except ConnectionResetError as exc:
                raise ConnectionClosedError(
                    f"connection reset by kernel while reading {what} ({got} of {n} bytes received)"
                ) from exc
            if k == 0:
                raise ConnectionClosedError(
                    f"connection closed by kernel while reading {what} ({got} of {n} bytes received)"
                )
            got += k
        return bytes(buf)

    def recv_frame(self) -> tuple[int, int, bytes]:
        """Read one frame: exactly 17 header bytes, then exactly payload_len bytes."""
        header = self._recv_exactly(HEADER_SIZE, "frame header")
        magic, agent_id, opcode, length = HEADER.unpack(header)
        if magic != MAGIC:
            raise ProtocolError(f"bad magic in reply header: 0x{magic:08X} (expected 0x{MAGIC:08X})")
        payload = self._recv_exactly(length, f"payload of opcode 0x{opcode:02X}") if length else b""
        self.last_agent_id = agent_id
        self.last_opcode = opcode
        return agent_id, opcode, payload

    def recv_reply(self) -> tuple[int, int, Any]:
        """Read one frame and decode it: raw bytes for NOOP, parsed JSON otherwise."""
        agent_id, opcode, payload = self.recv_frame()
        if opcode == OP_NOOP:
            return agent_id, opcode, payload
        try:
            reply = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            preview = payload[:200]
            raise ProtocolError(f"reply to opcode 0x{opcode:02X} is not valid JSON: {exc}; payload {preview!r}") from exc
        return agent_id, opcode, reply

    def call(self, opcode: int, payload: dict | list | bytes | str | None = None) -> tuple[int, int, Any]:
        """Send one request and wait for its reply: (agent_id, opcode, reply).

        ``reply`` is the parsed JSON (dict, or list for LIST) or raw bytes for NOOP.
        A payload given as bytes is sent unmodified. Errors reported by the kernel
        (``success: false``) are returned, not raised.
        """
        self.send_frame(opcode, payload)
        return self.recv_reply()

    # -- convenience syscalls (each returns the reply only; header in last_*) ---

    def noop(self, data: bytes = b"") -> bytes:
        return self.call(OP_NOOP, bytes(data))[2]

    def hello(self, name: str | None = None, token: str | None = None) -> dict:
        if token is None:
            token = os.environ.get("AGENTOS_AGENT_TOKEN") or None
        payload: dict[str, Any] = {}
        if name is not None:
            payload["name"] = name
        if token is not None:
            payload["token"] = token
        reply = self.call(OP_HELLO, payload)[2]
        if isinstance(reply, dict) and reply.get("success") and isinstance(reply.get("agent_id"), int):
            self.agent_id = reply["agent_id"]
        return reply

    def exec(self, command: str, timeout: float | None = None, cwd: str | None = None,
             env: dict[str, str] | None = None) -> dict:
        payload: dict[str, Any] = {"command": command}
        if timeout is not None:
            payload["timeout"] = timeout
        if cwd is not None:
            payload["cwd"] = cwd
        if env is not None:
            payload["env"] = env
        return self.call(OP_EXEC, payload)[2]

    def read(self, path: str, encoding: str = "utf8", offset: int | None = None,
             length: int | None = None) -> dict:
        payload: dict[str, Any] = {"path": path, "encoding": encoding}
        if offset is not None:
            payload["offset"] = offset
        if length is not None:
            payload["length"] = length
        return self.call(OP_READ, payload)[2]

    def write(self, path: str, content: str | bytes, mode: str = "write", encoding: str | None = None,
              mkdir: bool | None = None) -> dict:
        """WRITE a file. bytes content with no encoding is sent base64-encoded."""
        if isinstance(content, (bytes, bytearray)):
            if encoding in (None, "base64"):
                content, encoding = base64.b64encode(content).decode("ascii"), "base64"
            else:
                content = bytes(content).decode("utf-8")
        payload: dict[str, Any] = {"path": path, "content": content, "mode": mode}
        if encoding is not None:
            payload["encoding"] = encoding
        if mkdir is not None:
            payload["mkdir"] = mkdir
        return self.call(OP_WRITE, payload)[2]

    def exit(self) -> dict:
        """Say goodbye. The kernel replies, then closes the connection (see peer_closed)."""
        return self.call(OP_EXIT, None)[2]
