/**
 * The errors an agent sees inside a world, each naming the world path and the mount, with
 * the errno a real filesystem would give in `details.errno` so the next layer can map it.
 */
import { KernelError } from '../../protocol/errors.js';
import type { MountConfig } from './config.js';

export function describeMount(mount: MountConfig | null): string {
  return mount ? `mount ${mount.path} (${mount.type})` : 'no mount';
}

export function notFound(path: string, mount: MountConfig | null): KernelError {
  return new KernelError('NOT_FOUND', `no such file or directory "${path}" in the world (${describeMount(mount)})`, {
    errno: 'ENOENT',
    path,
  });
}

export function outsideMounts(path: string, op: string): KernelError {
  return new KernelError('PERMISSION_DENIED', `cannot ${op} "${path}": outside every mount of the world`, { errno: 'EACCES', path });
}

export function readOnly(path: string, mount: MountConfig | null, op: string): KernelError {
  return new KernelError('PERMISSION_DENIED', `cannot ${op} "${path}": read-only file system (EROFS) at ${describeMount(mount)}`, {
    errno: 'EROFS',
    path,
  });
}

export function isDirectory(path: string, mount: MountConfig | null, op: string): KernelError {
  return new KernelError('INVALID_REQUEST', `cannot ${op} "${path}": is a directory (${describeMount(mount)})`, { errno: 'EISDIR', path });
}

export function notDirectory(path: string, mount: MountConfig | null): KernelError {
  return new KernelError('INVALID_REQUEST', `"${path}" is not a directory (${describeMount(mount)})`, { errno: 'ENOTDIR', path });
}

export function notEmpty(path: string, mount: MountConfig | null): KernelError {
  return new KernelError('CONFLICT', `cannot remove "${path}": directory not empty (${describeMount(mount)}); pass recursive`, {
    errno: 'ENOTEMPTY',
    path,
  });
}

export function diskFull(path: string, mount: MountConfig | null): KernelError {
  return new KernelError('QUOTA_EXCEEDED', `cannot write "${path}": no space left on device (ENOSPC) at ${describeMount(mount)}`, {
    errno: 'ENOSPC',
    path,
  });
}

export function ioError(path: string, op: string): KernelError {
  return new KernelError('UNAVAILABLE', `cannot ${op} "${path}": input/output error (EIO): the world's disk is failing`, {
    errno: 'EIO',
    path,
  });
}

export function quotaExceeded(path: string, limit: 'max_files' | 'disk_quota', detail: string): KernelError {
  return new KernelError('QUOTA_EXCEEDED', `cannot write "${path}": the world's ${limit} is exceeded (${detail})`, {
    errno: 'EDQUOT',
    limit,
    path,
  });
}
