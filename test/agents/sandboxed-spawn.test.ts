/**
 * SPAWN with `sandboxed: true`, end to end: the agent runs in bubblewrap, can write its
 * private /tmp but not the host, cannot reach the network unless `network: true`, still
 * reaches the kernel, and the reply's `isolation` says so.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentOSClient } from '../../src/sdk/client.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';

const PROBE = `
import json, os, socket, struct, sys
result = {}
try:
    open(os.environ["HOST_FILE"], "w").write("escaped")
    result["host_write"] = "ok"
except OSError as e:
    result["host_write"] = type(e).__name__
try:
    open("/tmp/inside.txt", "w").write("private")
    result["tmp_write"] = open("/tmp/inside.txt").read()
except OSError as e:
    result["tmp_write"] = type(e).__name__
try:
    s = socket.create_connection(("127.0.0.1", int(os.environ["TCP_PORT"])), timeout=2)
    s.close()
    result["network"] = "ok"
except OSError as e:
    result["network"] = type(e).__name__
k = socket.socket(socket.AF_UNIX); k.connect(sys.argv[1])
body = json.dumps({"token": os.environ["AGENTOS_AGENT_TOKEN"]}).encode()
k.sendall(struct.pack("<IIBQ", 0x41474E54, 0, 0xFE, len(body)) + body)
r = k.makefile("rb"); _, agent_id, _, n = struct.unpack("<IIBQ", r.read(17))
result["kernel_agent_id"] = json.loads(r.read(n)).get("agent_id")
print("RESULT " + json.dumps(result), flush=True)
`;

interface ProbeResult {
  host_write: string;
  tmp_write: string;
  network: string;
  kernel_agent_id: number;
}

describe('SPAWN sandboxed: true', () => {
  let kernel: TestKernel;
  let client: AgentOSClient;
  let server: Server;
  let port = 0;
  /** A host directory outside /tmp (the sandbox's /tmp is private, so a path there proves nothing). */
  let hostDir = '';

  beforeAll(async () => {
    kernel = await startTestKernel({ defaultLevel: 'unrestricted' });
    hostDir = await mkdtemp('/var/tmp/agentos-sandbox-test-');
    client = await AgentOSClient.connect({ socketPath: kernel.socketPath });
    await mkdir(join(kernel.dir, 'agent'), { recursive: true });
    await writeFile(join(kernel.dir, 'agent', 'probe.py'), PROBE);
    server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await client.close();
    server.close();
    await rm(hostDir, { recursive: true, force: true });
    await kernel.cleanup();
  });

  async function probe(name: string, network: boolean): Promise<{ result: ProbeResult; reply: Record<string, unknown>; hostFile: string }> {
    const hostFile = join(hostDir, `${name}-escape.txt`);
    const reply = (await client.call('SPAWN', {
      name,
      script: join(kernel.dir, 'agent', 'probe.py'),
      sandboxed: true,
      network,
      env: { HOST_FILE: hostFile, TCP_PORT: String(port) },
    })) as Record<string, unknown>;
    const deadline = Date.now() + 15_000;
    for (;;) {
      const logs = (await client.call('LOGS', { id: reply.agent_id as number, lines: 50 })) as { lines: { text: string }[] };
      const line = logs.lines.find((l) => l.text.startsWith('RESULT '));
      if (line) return { result: JSON.parse(line.text.slice(7)) as ProbeResult, reply, hostFile };
      if (Date.now() > deadline) throw new Error(`no result from ${name}: ${JSON.stringify(logs.lines)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('denies writes outside its private /tmp and the network when off, and still reaches the kernel', async () => {
    const { result, reply, hostFile } = await probe('boxed', false);
    expect(reply.isolation).toMatchObject({ sandboxed: true, mechanism: 'bubblewrap', network: false });
    expect(result.host_write).not.toBe('ok');
    await expect(readFile(hostFile, 'utf8')).rejects.toThrow();
    expect(result.tmp_write).toBe('private');
    expect(result.network).not.toBe('ok');
    expect(result.kernel_agent_id).toBe(reply.agent_id);
  });

  it('reaches the network with network: true', async () => {
    const { result, reply } = await probe('netted', true);
    expect(reply.isolation).toMatchObject({ sandboxed: true, network: true });
    expect(result.network).toBe('ok');
    expect(result.host_write).not.toBe('ok');
  });
});
