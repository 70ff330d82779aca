// Crash-safe file replacement: write a sibling temp file, fsync it, rename it over the target and
// fsync the directory, so a reader (or a resumed run) sees the old file or the new one, never a torn mix;
// the temp file a killed writer leaves behind is removed by the next run (removeStaleTemps).
import { appendFile, open, readdir, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { AlexnetError } from '../../errors.js';

/** A file could not be written; `code` is the OS error (ENOSPC, EACCES, EROFS, ...). */
export class CheckpointWriteError extends AlexnetError {
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    message: string,
    cause?: unknown,
  ) {
    super(message);
    this.cause = cause;
  }
}

/** The part of a file handle atomicWrite uses (node's FileHandle fits). */
export interface WriteHandle {
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** File-system calls of the run's writes (atomicWrite, metrics appends); tests substitute failing ones (ENOSPC, EIO) here. */
export interface AtomicFs {
  open(path: string, flags: string, mode?: number): Promise<WriteHandle>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  appendFile(path: string, data: string): Promise<void>;
}

export const nodeFs: AtomicFs = {
  open: (p, f, m) => open(p, f, m),
  rename,
  unlink,
  appendFile: (p, d) => appendFile(p, d),
};

// Slices keep each write() call well below node's 2 GiB per-call limit and bound kernel copies.
const SLICE = 64 * 1024 * 1024;

/**
 * Replace `path` with `data` (one buffer, or parts written back to back without concatenating them).
 * On any failure the temp file is removed, the previous `path` is untouched, and a
 * CheckpointWriteError naming the path and the OS error is thrown.
 */
export async function atomicWrite(
  path: string,
  data: Uint8Array | readonly Uint8Array[],
  fs: AtomicFs = nodeFs,
): Promise<void> {
  const parts = data instanceof Uint8Array ? [data] : data;
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let fh: WriteHandle | undefined;
  try {
    fh = await fs.open(tmp, 'wx', 0o644);
    let pos = 0;
    for (const part of parts) {
      for (let off = 0; off < part.byteLength; ) {
        const len = Math.min(SLICE, part.byteLength - off);
        const { bytesWritten } = await fh.write(part, off, len, pos);
        if (!(bytesWritten > 0)) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
        off += bytesWritten;
        pos += bytesWritten;
      }
    }
    await fh.sync();
    const h = fh;
    fh = undefined;
    await h.close();
    await fs.rename(tmp, path);
  } catch (err) {
    if (fh) await fh.close().catch(() => {});
    await fs.unlink(tmp).catch(() => {});
    throw wrap(path, err);
  }
  await syncDir(dirname(path), path, fs);
}

// The rename is only durable once the directory entry is on disk. Some file systems refuse to
// fsync a directory (EINVAL, EISDIR); the new file is already in place then, so that is not an error.
async function syncDir(dir: string, path: string, fs: AtomicFs): Promise<void> {
  let dh: WriteHandle | undefined;
  try {
    dh = await fs.open(dir, 'r');
    await dh.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException)?.code;
    if (!['EINVAL', 'EISDIR', 'ENOTSUP', 'EPERM', 'EBADF'].includes(code ?? '')) {
      throw wrap(path, err, 'the new file is in place but its directory could not be synced');
    }
  } finally {
    await dh?.close().catch(() => {});
  }
}

function wrap(path: string, err: unknown, note = 'the previous file is untouched'): CheckpointWriteError {
  if (err instanceof CheckpointWriteError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const msg = err instanceof Error ? err.message : String(err);
  const why = code && !msg.includes(code) ? `${code}: ${msg}` : msg;
  return new CheckpointWriteError(path, code, `cannot write ${path}: ${why} (${note})`, err);
}

/** Names atomicWrite gives its temp files: `<target>.tmp-<pid>-<hex>`. */
export const TEMP_NAME = /^(.+)\.tmp-(\d+)-[0-9a-f]+$/;

/**
 * Delete the temp files a killed writer left in `dir` (a kill between open and rename leaves one).
 * Call it only while holding the folder's lock: then no live writer can own one of them.
 * Returns the names removed; files that cannot be removed are left alone.
 */
export async function removeStaleTemps(dir: string, fs: Pick<AtomicFs, 'unlink'> = nodeFs): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!TEMP_NAME.test(name)) continue;
    try {
      await fs.unlink(join(dir, name));
      removed.push(name);
    } catch {
      /* gone meanwhile, or not ours to remove */
    }
  }
  return removed;
}
