// The SRE agent: polls api.svc.test/health, watches the world's chaos events, restarts the
// service (POST /restart, retried until it takes) when a crash fires or health fails, and
// retries through partitions with a capped backoff. It never gives up and never spins.
// Outside this repository, import from 'agentos/sdk'.
import { AgentOSClient, AgentOSError } from '../../src/sdk/index.js';

const HEALTH = 'http://api.svc.test/health';
const RESTART = 'http://api.svc.test/restart';
const POLL_MS = 250;
const MAX_BACKOFF_MS = 2000;

const os = await AgentOSClient.connect();
const say = (line: string) => process.stdout.write(`sre: ${line}\n`);
process.on('SIGTERM', () => {
  void os.close().finally(() => process.exit(0));
});
await os.subscribe('WORLD_EVENT');
say(`watching ${process.env.AGENTOS_WORLD_ID ?? 'no world'}`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const codeOf = (error: unknown) => (error instanceof AgentOSError ? error.code : String(error));

async function healthy(): Promise<boolean> {
  try {
    const reply = await os.http({ url: HEALTH, timeout: 2 });
    return reply.status_code === 200;
  } catch {
    return false;
  }
}

/** POST /restart until it succeeds (it fails now and then, and not at all through a partition). */
async function restart(why: string): Promise<void> {
  for (let attempt = 1, backoff = POLL_MS; ; attempt++, backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)) {
    try {
      await os.http({ url: RESTART, method: 'POST', timeout: 2 });
      say(`restarted the service (${why}) after ${attempt} attempt(s)`);
      return;
    } catch (error) {
      if (attempt === 1) say(`restart failed (${codeOf(error)}); retrying`);
      await sleep(backoff);
    }
  }
}

let down = false;
for (;;) {
  // Chaos first: a crash means a restart now, without waiting for /health to notice.
  const { events } = await os.pollEvents({ max: 100, waitMs: 0 });
  for (const event of events) {
    const data = event.data as { kind?: string; type?: string; target?: string; targets?: string[] };
    if (data.kind !== 'fired') continue;
    say(`event: ${data.type} ${data.target ?? data.targets?.join(',') ?? '(world)'}`);
    if (data.type === 'service_crash' || data.type === 'agent_crash') await restart(`${data.type} of ${data.target}`);
  }
  if (await healthy()) {
    if (down) say('service healthy again');
    down = false;
  } else {
    if (!down) say('health check failed');
    down = true;
    await restart('failed health check');
  }
  await sleep(POLL_MS);
}
