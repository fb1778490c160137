/**
 * The world filesystem's own configuration (worlds.md §2): a plain mount table that the
 * world definition maps onto, plus the layer's limits. Kept apart from the definition
 * schema so this module depends on nothing but zod; host paths arrive already resolved
 * (the definition resolves `source` against its YAML file).
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';

const VirtualPath = z
  .string()
  .refine((path) => path.startsWith('/') && !path.includes('\0'), 'expected an absolute world path such as /app');

const HostDir = z
  .string()
  .refine((path) => isAbsolute(path), 'expected an absolute host directory (resolve it against the definition file first)');

/** A relative name inside a virtual mount (`app.log`, `nested/dir/file.txt`), never climbing out. */
const VirtualName = z
  .string()
  .min(1)
  .refine(
    (name) =>
      !name.startsWith('/') && !name.includes('\0') && name.split('/').every((part) => part !== '' && part !== '.' && part !== '..'),
    'expected a relative file name without empty, "." or ".." segments',
  );

export const VirtualFileConfig = z
  .strictObject({
    name: VirtualName,
    content: z.string().optional(),
    generator: z.string().min(1).optional(),
    /** The generator's options, checked against that generator's own schema at open. */
    options: z.record(z.string(), z.unknown()).default({}),
  })
  .refine((file) => (file.content === undefined) !== (file.generator === undefined), {
    message: 'expected exactly one of content or generator',
    path: ['content'],
  });

export const MountConfig = z.discriminatedUnion('type', [
  z.strictObject({
    path: VirtualPath,
    type: z.literal('mirror'),
    source: HostDir,
    /** false makes the mirror read-only (EROFS), like a readonly mount. */
    writable: z.boolean().default(true),
  }),
  z.strictObject({
    path: VirtualPath,
    type: z.literal('virtual'),
    files: z.array(VirtualFileConfig).default([]),
    /** Virtual mounts are writable by default: writes land in the layer, like a tmpfs. */
    writable: z.boolean().default(true),
  }),
  z.strictObject({ path: VirtualPath, type: z.literal('readonly'), source: HostDir }),
]);
/** What a caller writes (defaults optional). */
export type MountConfigInput = z.input<typeof MountConfig>;
/** A mount after parsing: defaults applied. */
export type MountConfig = z.output<typeof MountConfig>;
export type VirtualFileConfig = z.output<typeof VirtualFileConfig>;

export const WorldFsLimits = z.strictObject({
  /** Files (not directories or whiteouts) in the world's own layer. */
  maxFiles: z.number().int().nonnegative().optional(),
  /** Bytes of file content in the world's own layer. */
  diskQuota: z.number().int().nonnegative().optional(),
});
export type WorldFsLimits = z.output<typeof WorldFsLimits>;

export const WorldFsConfig = z.strictObject({
  /** The world's own directory on disk: `upper/` (copied-up and new files) and `layer.json` (whiteouts). */
  layerDir: HostDir,
  mounts: z.array(MountConfig),
  limits: WorldFsLimits.default({}),
});
export type WorldFsConfigInput = z.input<typeof WorldFsConfig>;
export type WorldFsConfig = z.output<typeof WorldFsConfig>;

/** Chaos effects on the filesystem (worlds.md §4), switched by the world's event engine. */
export const FsEffects = z.strictObject({
  /** disk_full: writes fail as on a full disk (ENOSPC). Deletes still work, as on a real disk. */
  diskFull: z.boolean().default(false),
  /** disk_fail: every read and write fails with an I/O error (EIO). */
  diskFail: z.boolean().default(false),
  /** slow_io: milliseconds added to every operation, waited without blocking. */
  slowIoMs: z.number().nonnegative().default(0),
});
export type FsEffects = z.output<typeof FsEffects>;
