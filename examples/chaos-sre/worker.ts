// A worker of the mocked service: it serves by calling api.svc.test every half second,
// forever. Crash events kill it (SIGKILL); its supervisor restarts it. Every call goes
// through the world's network simulator, so partitions and packet loss hit it too.
// Outside this repository, import from 'agentos/sdk'.
import { AgentOSClient, AgentOSError } from '../../src/sdk/index.js';

const os = await AgentOSClient.connect();
const me = os.helloReply?.name ?? `agent ${os.agentId}`;
let failing = false;
process.on('SIGTERM', () => {
  void os.close().finally(() => process.exit(0));
});
process.stdout.write(`${me}: serving in ${process.env.AGENTOS_WORLD_ID ?? 'no world'}\n`);
for (let job = 1; ; job++) {
  try {
    await os.http({ url: `http://api.svc.test/jobs/${job}`, method: 'POST', timeout: 5 });
    if (failing) process.stdout.write(`${me}: job ${job} served again\n`);
    failing = false;
  } catch (error) {
    // A partition or a lost packet: the next job retries; only the change is logged.
    if (!failing) process.stdout.write(`${me}: job ${job} failed: ${error instanceof AgentOSError ? error.code : String(error)}\n`);
    failing = true;
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}
