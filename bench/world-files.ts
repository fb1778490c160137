/**
 * Question: what does a world cost a member's READ and WRITE? The same small file calls,
 * sequential on one connection each, in alternating rounds:
 *
 *   host (floor)  a connection in no world: READ/WRITE of a file under --dir on the host
 *                 (the path rules, the worker, the real file);
 *   mirror        a connection that WORLD_JOINed a world with a mirror mount of a temp
 *                 dir: READ of a source file (read through), WRITE of a file that lands in
 *                 the world's own layer (copy-on-write);
 *   virtual       the same member, on a virtual mount of the same world.
 *
 * Both connections HELLO with the admin token (WORLD_CREATE needs can_spawn), so the floor
 * and the member are the same kind of client; only the world differs.
 *
 * Usage: --socket PATH --data-dir DIR --dir DIR [--calls N (3000)] [--warmup N (300)] [--rounds N (3)]
 * Prints one JSON result line.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, jsonFrame, need, OP_HELLO, parseArgs, report } from './lib/agnt.js';
import { type SeriesResult, sequential } from './lib/sequential.js';
import { OP_READ, OP_WORLD_CREATE, OP_WORLD_DESTROY, OP_WORLD_JOIN, OP_WORLD_LEAVE, OP_WRITE, request } from './world-common.js';

const args = parseArgs(process.argv.slice(2));
const socketPath = need(args, 'socket');
const dir = need(args, 'dir');
const token = (await readFile(join(need(args, 'data-dir'), 'admin.token'), 'utf8')).trim();
const CALLS = Number(args.calls ?? 3000);
const WARMUP = Number(args.warmup ?? 300);
const ROUNDS = Number(args.rounds ?? 3);

/** 100 bytes: small enough that the call's own cost is what is measured, not the copy. */
const CONTENT = `${'world bench '.repeat(8)}0123\n`;
const SIDES = ['host', 'mirror', 'virtual'] as const;
type Side = (typeof SIDES)[number];

const hostDir = join(dir, 'host');
const sourceDir = join(dir, 'mirror-source');
await mkdir(hostDir, { recursive: true });
await mkdir(sourceDir, { recursive: true });
await writeFile(join(hostDir, 'small.txt'), CONTENT);
await writeFile(join(sourceDir, 'small.txt'), CONTENT);

const floor = await connect(socketPath);
const member = await connect(socketPath);
await request(floor, OP_HELLO, { name: 'bench-world-floor', token });
await request(member, OP_HELLO, { name: 'bench-world-member', token });
const created = await request<{ world_id: string }>(member, OP_WORLD_CREATE, {
  config: {
    name: 'bench-files',
    filesystem: {
      '/app': { type: 'mirror', source: sourceDir },
      '/data': { type: 'virtual', files: [{ name: 'small.txt', content: CONTENT }] },
    },
  },
});
await request(member, OP_WORLD_JOIN, { world_id: created.world_id });

const frames: Record<Side, { read: Buffer; write: Buffer }> = {
  host: {
    read: jsonFrame(OP_READ, { path: join(hostDir, 'small.txt') }),
    write: jsonFrame(OP_WRITE, { path: join(hostDir, 'written.txt'), content: CONTENT }),
  },
  mirror: {
    read: jsonFrame(OP_READ, { path: '/app/small.txt' }),
    write: jsonFrame(OP_WRITE, { path: '/app/written.txt', content: CONTENT }),
  },
  virtual: {
    read: jsonFrame(OP_READ, { path: '/data/small.txt' }),
    write: jsonFrame(OP_WRITE, { path: '/data/written.txt', content: CONTENT }),
  },
};
const socketOf = (side: Side) => (side === 'host' ? floor : member);

for (const side of SIDES) {
  for (const op of ['read', 'write'] as const) await sequential(socketOf(side), frames[side][op], WARMUP);
}

type Round = Record<'read' | 'write', Record<Side, SeriesResult>>;
const rounds: Round[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const result = { read: {}, write: {} } as Round;
  // Host first in even rounds, last in odd ones, so drift does not favour one side.
  const order = i % 2 === 0 ? SIDES : [...SIDES].reverse();
  for (const op of ['read', 'write'] as const) {
    for (const side of order) result[op][side] = await sequential(socketOf(side), frames[side][op], CALLS);
  }
  rounds.push(result);
}

await request(member, OP_WORLD_LEAVE, {});
await request(member, OP_WORLD_DESTROY, { world_id: created.world_id });
floor.destroy();
member.destroy();
report({ calls: CALLS * ROUNDS * 6, elapsed_ms: 0, bytes: CONTENT.length, rounds });
