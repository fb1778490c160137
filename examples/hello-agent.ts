// A code-defined agent over the Unix socket: run with `node --import tsx examples/hello-agent.ts`
// while a kernel runs (`npm start`). Outside this repo, import from 'agentos/sdk'.
import { AgentOSClient } from '../src/sdk/index.js';

const os = await AgentOSClient.connect({ name: 'hello-agent' });
const { stdout } = await os.exec('uname -sr');
const { path } = await os.write({ path: process.argv[2] ?? '/tmp/hello-agent.txt', content: `agent ${os.agentId} saw ${stdout}` });
process.stdout.write(`wrote ${path}\n`);
await os.exit();
