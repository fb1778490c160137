// A process agent in Node, using the SDK. The kernel starts it with AGENTOS_SOCKET and a
// one-use AGENTOS_AGENT_TOKEN; AgentOSClient.connect() reads both, so this connection is
// the spawned agent itself. Outside this repository, import from 'agentos/sdk'.
// Started by run.ts with SPAWN (restart_policy on-failure); argv: [script, socket, output file].
import { AgentOSClient } from '../../src/sdk/index.js';

const os = await AgentOSClient.connect();
const { stdout } = await os.exec('node --version');
const out = process.argv[3];
if (out) await os.write({ path: out, content: `agent ${os.agentId} (${os.helloReply?.name}) runs node ${stdout.trim()}\n` });
await os.exit();
