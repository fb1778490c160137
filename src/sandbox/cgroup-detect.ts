/**
 * Which cgroup hierarchies this kernel may create agent groups in, per controller.
 *
 * Machines differ: pure v2 (/sys/fs/cgroup is cgroup2), hybrid (v1 controllers plus a
 * `unified` v2 mount that often holds none of them), or v1 only. So the answer is per
 * controller: v2 when the unified hierarchy offers it, else the v1 hierarchy mounting
 * it, else a reason. Groups are made under the kernel's own cgroup, never at a root it
 * was not placed in, so agents stay inside whatever limits the kernel itself runs under.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
export type Controller = (typeof CONTROLLERS)[number];

export interface CgroupMount {
  /** Where the hierarchy is mounted. */
  mountPoint: string;
  /** The hierarchy path shown at the mount point (not "/" inside some containers). */
  root: string;
  fstype: 'cgroup' | 'cgroup2';
  /** v1: the controllers bound to this hierarchy (from the super options). */
  options: string[];
}

export interface CgroupSupport {
  /** The kernel's own cgroup directory in the v2 hierarchy, and the controllers it offers. */
  v2: { dir: string; mountPoint: string; controllers: string[] } | null;
  /** The kernel's own cgroup directory in each v1 hierarchy, per controller. */
  v1: Partial<Record<Controller, string>>;
}

/** Undo mountinfo's octal escapes (a space is `\040`). */
function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** The cgroup mounts listed in a /proc/<pid>/mountinfo text. */
export function parseMountinfo(text: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fields = left.split(' ');
    const [fstype, , superOptions = ''] = right.split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const root = fields[3];
    const mountPoint = fields[4];
    if (root === undefined || mountPoint === undefined) continue;
    mounts.push({ mountPoint: unescapeOctal(mountPoint), root: unescapeOctal(root), fstype, options: superOptions.split(',') });
  }
  return mounts;
}

export interface ProcCgroupEntry {
  /** "0" for the v2 hierarchy. */
  id: string;
  controllers: string[];
  path: string;
}

/** The lines of /proc/<pid>/cgroup: `id:controllers:path`. */
export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const entries: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    entries.push({ id: match[1]!, controllers: match[2] ? match[2].split(',') : [], path: match[3]! });
  }
  return entries;
}

/** The directory of a cgroup path within a mount (the mount may show a subtree, as in containers). */
function dirIn(mount: CgroupMount, path: string): string {
  const relative = mount.root !== '/' && (path === mount.root || path.startsWith(`${mount.root}/`)) ? path.slice(mount.root.length) : path;
  // resolve, not join: no trailing slash on a root group.
  return resolve(mount.mountPoint, `.${relative}`);
}

export interface DetectSources {
  /** Text of /proc/self/mountinfo. */
  mountinfo?: string;
  /** Text of /proc/self/cgroup. */
  procCgroup?: string;
  /** Reads a v2 group's cgroup.controllers; defaults to the file system. */
  readControllers?: (dir: string) => Promise<string>;
}

/** Work out where agent groups can go. Never throws: what is not found is simply absent. */
export async function detectCgroups(sources: DetectSources = {}): Promise<CgroupSupport> {
  const mountinfo = sources.mountinfo ?? (await readFile('/proc/self/mountinfo', 'utf8').catch(() => ''));
  const procCgroup = sources.procCgroup ?? (await readFile('/proc/self/cgroup', 'utf8').catch(() => ''));
  const readControllers = sources.readControllers ?? ((dir: string) => readFile(join(dir, 'cgroup.controllers'), 'utf8'));
  const mounts = parseMountinfo(mountinfo);
  const entries = parseProcCgroup(procCgroup);

  let v2: CgroupSupport['v2'] = null;
  const unified = mounts.find((mount) => mount.fstype === 'cgroup2');
  const v2Entry = entries.find((entry) => entry.id === '0' && entry.controllers.length === 0);
  if (unified && v2Entry) {
    const dir = dirIn(unified, v2Entry.path);
    const controllers = await readControllers(dir).then(
      (text) => text.split(/\s+/).filter(Boolean),
      () => [],
    );
    v2 = { dir, mountPoint: unified.mountPoint, controllers };
  }

  const v1: CgroupSupport['v1'] = {};
  for (const controller of CONTROLLERS) {
    const mount = mounts.find((m) => m.fstype === 'cgroup' && m.options.includes(controller));
    const entry = entries.find((e) => e.id !== '0' && e.controllers.includes(controller));
    if (mount && entry) v1[controller] = dirIn(mount, entry.path);
  }
  return { v2, v1 };
}

let cached: Promise<CgroupSupport> | undefined;

/** detectCgroups for this process, once (mounts do not change under a running kernel). */
export function cgroupSupport(): Promise<CgroupSupport> {
  cached ??= detectCgroups();
  return cached;
}

/** Why no hierarchy offers `controller`, for a not_applied entry. */
export function unavailableReason(support: CgroupSupport, controller: Controller): string {
  const v2 = support.v2
    ? `cgroup v2 at ${support.v2.dir} does not offer it (cgroup.controllers: ${support.v2.controllers.join(' ') || 'none'})`
    : 'no cgroup v2 hierarchy is mounted';
  return `no cgroup ${controller} controller: ${v2} and no cgroup v1 hierarchy mounts it`;
}
