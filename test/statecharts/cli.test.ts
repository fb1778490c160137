/**
 * `agentos statecharts` as a child process, run from the sources: `main()` through tsx, since
 * `bin/agentos` prefers dist/, which may be older than the sources.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATECHARTS } from '../../src/statecharts/registry.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = pathToFileURL(join(ROOT, 'src', 'cli', 'main.ts')).href;
const RUNNER = "import(process.argv[1]).then((cli) => cli.main(['node', 'agentos', ...process.argv.slice(2)]))";
const NAMES = STATECHARTS.map((machine) => machine.name);

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function agentos(args: string[], timeoutMs = 45_000): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', RUNNER, MAIN, ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`agentos ${args.join(' ')} did not finish in ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

// Each run loads the CLI's sources through tsx: seconds apiece when the machine is busy.
describe('agentos statecharts', { timeout: 90_000 }, () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'agentos-statecharts-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('export --format mermaid --out DIR writes one .mmd per machine, creating DIR, and tables them', async () => {
    const out = join(dir, 'nested', 'mermaid');
    const result = await agentos(['statecharts', 'export', '--format', 'mermaid', '--out', out]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(NAMES.map((name) => `${name}.mmd`).sort());
    const agent = readFileSync(join(out, 'agent.mmd'), 'utf8').split('\n');
    expect(agent[0]).toMatch(/^%% agent: /);
    expect(agent[1]).toBe('stateDiagram-v2');
    expect(agent.map((line) => line.trim())).toContain('running --> paused : agent.pause');
    const [header, ...rows] = result.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^machine\s+states\s+file$/);
    expect(rows.map((row) => row.split(/\s+/)[0])).toEqual(NAMES);
    expect(rows.find((row) => row.startsWith('agent'))).toMatch(/^agent\s+11\s+\S+agent\.mmd$/);
  });

  it('export --format json --out DIR writes one parseable .json per machine', async () => {
    const out = join(dir, 'json');
    const result = await agentos(['statecharts', 'export', '--format', 'json', '--out', out]);
    expect(result.code).toBe(0);
    for (const name of NAMES) {
      const exported = JSON.parse(readFileSync(join(out, `${name}.json`), 'utf8'));
      expect(exported).toMatchObject({ name, machine: { type: expect.any(String), states: expect.any(Object) } });
    }
  });

  it('export prints to stdout by default: Mermaid diagrams, each under a header comment', async () => {
    const result = await agentos(['statecharts', 'export']);
    expect(result.code).toBe(0);
    const headers = result.stdout.split('\n').filter((line) => /^%% \w+: /.test(line));
    expect(headers.map((line) => line.slice(3).split(':')[0])).toEqual(NAMES);
    expect(result.stdout.match(/^stateDiagram-v2$/gm)).toHaveLength(NAMES.length);
  });

  it('export --format json prints one JSON array; names select machines', async () => {
    const result = await agentos(['statecharts', 'export', '--format', 'json', 'agent', 'connection']);
    expect(result.code).toBe(0);
    const exported = JSON.parse(result.stdout) as { name: string }[];
    // Registry order, whatever the order on the command line.
    expect(exported.map((machine) => machine.name)).toEqual(NAMES.filter((name) => name === 'agent' || name === 'connection'));
  });

  it('refuses an unknown machine or format', async () => {
    const unknown = await agentos(['statecharts', 'export', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no state machine named nope');
    const format = await agentos(['statecharts', 'export', '--format', 'svg', '--out', join(dir, 'svg')]);
    expect(format.code).not.toBe(0);
    expect(format.stderr).toMatch(/svg/);
    expect(existsSync(join(dir, 'svg'))).toBe(false);
  });

  it('list prints an aligned table, or JSON with --json', async () => {
    const table = await agentos(['statecharts', 'list']);
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^name\s+states\s+description$/);
    expect(rows.map((row) => row.split(/\s+/)[0])).toEqual(NAMES);
    // Aligned: every description starts in the same column.
    const column = (header as string).indexOf('description');
    for (const row of rows) expect(row.slice(column - 2, column)).toBe('  ');
    const json = await agentos(['statecharts', 'list', '--json']);
    const listed = JSON.parse(json.stdout) as { name: string; states: number; description: string }[];
    expect(listed.find((machine) => machine.name === 'agent')).toMatchObject({ states: 11 });
  });
});
