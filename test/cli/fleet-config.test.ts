/**
 * The CLI config file (src/cli/config-file.ts) on real files in a temp dir, and
 * `agentos config set|show` run from the sources with HOME and AGENTOS_CONFIG pointed there:
 * validation naming the key, atomic 0600 writes in a 0700 directory, comments kept,
 * tokens masked.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configPath, maskedConfig, readCliConfig, setCliConfigValue } from '../../src/cli/config-file.js';
import { runCli } from './run-cli.js';

let dir: string;
const saved = { HOME: process.env.HOME, AGENTOS_CONFIG: process.env.AGENTOS_CONFIG };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aos-config-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const MACHINE_TOKEN = `aos_machine_0123456789abcdef_${'S'.repeat(39)}wxyz`;

describe('config file', () => {
  it('is $AGENTOS_CONFIG, else $HOME/.agentos/config.yaml', () => {
    expect(configPath({ AGENTOS_CONFIG: '/x/c.yaml', HOME: '/home/u' })).toBe('/x/c.yaml');
    expect(configPath({ HOME: '/home/u' })).toBe('/home/u/.agentos/config.yaml');
  });

  it('reads a missing file as {}', async () => {
    expect(await readCliConfig(join(dir, 'none.yaml'))).toEqual({});
  });

  it('sets keys, writing 0600 in a new 0700 directory, atomically, keeping comments', async () => {
    const path = join(dir, 'sub', 'config.yaml');
    await setCliConfigValue('relay.url', 'ws://127.0.0.1:7700', path);
    await setCliConfigValue('relay.insecure', 'yes', path);
    const config = await setCliConfigValue('machine.token', MACHINE_TOKEN, path);
    expect(config).toEqual({ relay: { url: 'ws://127.0.0.1:7700', insecure: true }, machine: { token: MACHINE_TOKEN } });
    expect(await readCliConfig(path)).toEqual(config);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'sub'))).mode & 0o777).toBe(0o700);
    expect(await readdir(join(dir, 'sub'))).toEqual(['config.yaml']); // no temp file left behind

    await writeFile(path, `# my relay\n${await readFile(path, 'utf8')}`, { mode: 0o600 });
    await setCliConfigValue('machine.id', 'laptop-1', path);
    expect(await readFile(path, 'utf8')).toMatch(/^# my relay/);
    await setCliConfigValue('relay.insecure', '', path);
    expect((await readCliConfig(path)).relay).toEqual({ url: 'ws://127.0.0.1:7700' });
  });

  it('refuses unknown keys and bad values naming the key, leaving the file as it was', async () => {
    const path = join(dir, 'config.yaml');
    await setCliConfigValue('relay.url', 'https://relay.example.com', path);
    const before = await readFile(path, 'utf8');
    await expect(setCliConfigValue('relay.colour', 'red', path)).rejects.toThrow(/unknown config key "relay.colour"/);
    await expect(setCliConfigValue('relay.url', 'ftp://x', path)).rejects.toThrow(/relay\.url.*ws:\/\//);
    await expect(setCliConfigValue('relay.insecure', 'maybe', path)).rejects.toThrow(/relay\.insecure.*true or false/);
    expect(await readFile(path, 'utf8')).toBe(before);
  });

  it('names the file and the key when the file is bad', async () => {
    const path = join(dir, 'config.yaml');
    await writeFile(path, 'relay:\n  url: 42\n');
    await expect(readCliConfig(path)).rejects.toThrow(`config file ${path}: key "relay.url"`);
    await writeFile(path, 'relay:\n  uri: ws://x\n');
    await expect(readCliConfig(path)).rejects.toThrow(/key "relay\.uri": unknown key/);
    await writeFile(path, 'relay: [unclosed\n');
    await expect(readCliConfig(path)).rejects.toThrow(`config file ${path}: not valid YAML`);
    await writeFile(path, '');
    expect(await readCliConfig(path)).toEqual({});
  });

  it('masks tokens to aos_… and their last four characters', () => {
    const masked = maskedConfig({
      relay: { url: 'ws://r', admin_token: 'Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4OTA' },
      machine: { id: 'm', token: MACHINE_TOKEN },
    });
    expect(masked).toEqual({ relay: { url: 'ws://r', admin_token: '…4OTA' }, machine: { id: 'm', token: 'aos_…wxyz' } });
    expect(maskedConfig({ machine: { token: 'short' } }).machine?.token).toBe('…');
  });
});

describe('agentos config', { timeout: 60_000 }, () => {
  beforeAll(() => {
    // The CLI runs in a child that inherits this environment.
    process.env.HOME = '/nonexistent-home-for-tests';
  });
  afterAll(() => {
    process.env.HOME = saved.HOME;
    if (saved.AGENTOS_CONFIG === undefined) delete process.env.AGENTOS_CONFIG;
    else process.env.AGENTOS_CONFIG = saved.AGENTOS_CONFIG;
  });

  it('sets and shows the config, masking tokens, in YAML and JSON', async () => {
    process.env.AGENTOS_CONFIG = join(dir, 'agentos', 'config.yaml');
    const set = await runCli(['config', 'set', 'machine.token', MACHINE_TOKEN]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('machine.token = aos_…wxyz');
    expect(set.stdout).not.toContain(MACHINE_TOKEN);
    expect((await runCli(['config', 'set', 'relay.url', 'ws://127.0.0.1:7700'])).code).toBe(0);
    expect((await stat(process.env.AGENTOS_CONFIG)).mode & 0o777).toBe(0o600);

    const show = await runCli(['config', 'show']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('url: ws://127.0.0.1:7700');
    expect(show.stdout).toContain('token: aos_…wxyz');
    expect(show.stdout).not.toContain(MACHINE_TOKEN);
    const json = await runCli(['config', 'show', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ relay: { url: 'ws://127.0.0.1:7700' }, machine: { token: 'aos_…wxyz' } });

    const bad = await runCli(['config', 'set', 'relay.url', 'not a url']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^agentos: .*relay\.url/);
  });

  it('uses $HOME/.agentos/config.yaml without AGENTOS_CONFIG', async () => {
    delete process.env.AGENTOS_CONFIG;
    process.env.HOME = dir;
    const set = await runCli(['config', 'set', 'machine.id', 'laptop-1']);
    expect(set.code, set.stderr).toBe(0);
    expect(await readCliConfig(join(dir, '.agentos', 'config.yaml'))).toEqual({ machine: { id: 'laptop-1' } });
  });
});
