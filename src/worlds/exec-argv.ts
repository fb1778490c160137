/**
 * The bubblewrap launch for EXEC inside a world. Unlike a host EXEC, nothing of the
 * host's files is shown but what programs need to run: the system directories
 * read-only, and of /etc only the files the loader and libc read (never the host's
 * /etc as a whole: a world may mount /etc/config, and nothing in /etc is the world's).
 * The world's mounts are bound at their world paths from the scratch tree (read-only
 * for readonly mounts and `writable: false` ones); /tmp is private and discarded; the
 * root, /etc and the mount points' ancestors are read-only, so a write anywhere else
 * fails inside the sandbox (EROFS). The network is always unshared: a world's network is
 * its simulator, reached only through the HTTP and DOWNLOAD syscalls.
 */
import { posix } from 'node:path';
import { type Bubblewrap, SYSTEM_DIRS } from '../sandbox/bubblewrap.js';

/** What of the host's /etc a command needs (dynamic loader, users and groups, locale, `alternatives` links). */
const ETC_FILES = [
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/alternatives',
  '/etc/passwd',
  '/etc/group',
  '/etc/nsswitch.conf',
  '/etc/localtime',
] as const;

export interface WorldBind {
  /** The materialised mount on the host. */
  host: string;
  /** Its world path (the mount point). */
  world: string;
  writable: boolean;
}

/** The full argv (bwrap first) that runs `command` with the world's mounts bound at their paths, in world directory `cwd`. */
export function worldExecArgv(bwrap: Bubblewrap, binds: readonly WorldBind[], cwd: string, command: string): string[] {
  const argv = [bwrap.path, '--die-with-parent', '--new-session', '--unshare-user'];
  if (bwrap.disableUserns) argv.push('--disable-userns');
  argv.push('--cap-drop', 'ALL', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--unshare-net');
  for (const dir of SYSTEM_DIRS) {
    if (dir.path === '/etc') continue;
    argv.push(dir.required ? '--ro-bind' : '--ro-bind-try', dir.path, dir.path);
  }
  argv.push('--tmpfs', '/etc');
  for (const file of ETC_FILES) argv.push('--ro-bind-try', file, file);
  argv.push('--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp');
  // Parents before children, so a nested mount is bound over its parent's copy, not under it.
  const ordered = [...binds].sort((a, b) => depth(a.world) - depth(b.world) || (a.world < b.world ? -1 : 1));
  for (const bind of ordered) argv.push(bind.writable ? '--bind' : '--ro-bind', bind.host, bind.world);
  // A world that mounts /etc itself decides whether it is writable.
  if (!binds.some((bind) => bind.world === '/etc')) argv.push('--remount-ro', '/etc');
  argv.push('--remount-ro', '/', '--chdir', cwd, '--', '/bin/sh', '-c', command);
  return argv;
}

function depth(path: string): number {
  return posix.normalize(path).split('/').filter(Boolean).length;
}
