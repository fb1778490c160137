"""An agent in plain Python, speaking the original AgentOS wire format (no SDK needed)."""
import json, os, socket, struct, sys

s = socket.socket(socket.AF_UNIX); s.connect(os.environ.get("AGENTOS_SOCKET", "/tmp/agentos.sock"))
body = json.dumps({"command": "echo hello from python"}).encode()
s.sendall(struct.pack("<IIBQ", 0x41474E54, 0, 0x02, len(body)) + body)  # magic, agent_id, EXEC, length
r = s.makefile("rb"); magic, agent_id, op, n = struct.unpack("<IIBQ", r.read(17))
print(json.loads(r.read(n))["stdout"], end="", file=sys.stdout)
