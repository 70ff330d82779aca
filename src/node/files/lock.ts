// One run per output folder: an exclusively created `.lock` file holding the owner's pid and start
// time. A lock whose process is gone (crash, kill -9, container restart) is stale and is taken over.
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { readFileSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AlexnetError } from '../../errors.js';

/** The output folder is in use by another live process (or its lock cannot be judged safely). */
export class LockError extends AlexnetError {}

export interface LockInfo {
  pid: number;
  startedAt: string;
  host: string;
  token: string;
}

export interface Lock {
  path: string;
  info: LockInfo;
  /** The stale lock that was replaced, if any (its process was no longer running). */
  tookOver?: Partial<LockInfo>;
  release(): Promise<void>;
  /** For exit handlers, where nothing asynchronous runs any more. */
  releaseSync(): void;
}

// Locks this process holds: a second acquire from the same process must refuse, while a lock with
// our pid that we do not hold was left by an earlier process that happened to get the same pid.
const held = new Set<string>();
// A lock file younger than this that cannot be parsed is probably being written right now.
const FRESH_MS = 10_000;

/** Take `dir/.lock` or throw LockError naming the process that holds it. */
export async function acquireLock(dir: string): Promise<Lock> {
  const path = join(dir, '.lock');
  const info: LockInfo = {
    pid: process.pid,
    startedAt: new Date(Date.now() - process.uptime() * 1000).toISOString(),
    host: hostname(),
    token: randomBytes(8).toString('hex'),
  };
  let tookOver: Partial<LockInfo> | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o644);
      // Held from the moment the file exists: another acquire in this process that reads our pid
      // in it meanwhile must refuse, not take it for a stale lock of an earlier process.
      held.add(path);
      try {
        await fh.writeFile(`${JSON.stringify(info)}\n`);
        await fh.sync();
      } catch (err) {
        held.delete(path);
        await fh.close().catch(() => {});
        await unlink(path).catch(() => {});
        throw new LockError(`cannot write lock ${path}: ${(err as Error).message}`);
      }
      await fh.close();
      return makeLock(path, info, tookOver);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new LockError(`cannot create lock ${path}: ${(err as Error).message}`);
    }
    const old = await readLock(path);
    if (old === 'gone') continue; // released meanwhile: try again
    await judge(dir, path, old);
    tookOver = old ?? {};
    await unlink(path).catch(() => {});
  }
  throw new LockError(`output folder ${dir}: could not take ${path} (other processes keep racing for it)`);
}

function makeLock(path: string, info: LockInfo, tookOver: Partial<LockInfo> | undefined): Lock {
  // Only remove the file while it is still ours: someone may have judged it stale and replaced it.
  const ours = (text: string) => parse(text)?.token === info.token;
  return {
    path,
    info,
    tookOver,
    async release() {
      held.delete(path);
      const text = await readFile(path, 'utf8').catch(() => '');
      if (ours(text)) await unlink(path).catch(() => {});
    },
    releaseSync() {
      held.delete(path);
      let text = '';
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        return;
      }
      if (ours(text))
        try {
          unlinkSync(path);
        } catch {
          /* already gone */
        }
    },
  };
}

async function readLock(path: string): Promise<Partial<LockInfo> | null | 'gone'> {
  try {
    return parse(await readFile(path, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw new LockError(`cannot read lock ${path}: ${(err as Error).message}`);
  }
}

function parse(text: string): Partial<LockInfo> | null {
  try {
    const v = JSON.parse(text);
    return typeof v === 'object' && v !== null && Number.isSafeInteger(v.pid) && v.pid > 0 ? v : null;
  } catch {
    return null;
  }
}

// Throws LockError unless the lock is provably stale.
async function judge(dir: string, path: string, old: Partial<LockInfo> | null): Promise<void> {
  const hint = `; wait for it to finish or stop it, or choose another output folder (delete ${path} only if no run uses it)`;
  if (!old) {
    const age =
      Date.now() -
      (await stat(path)
        .then((s) => s.mtimeMs)
        .catch(() => 0));
    if (age < FRESH_MS) throw new LockError(`output folder ${dir} is being locked by another process right now${hint}`);
    return; // unreadable and old: a writer died before finishing it
  }
  const pid = old.pid!;
  if (old.host && old.host !== hostname()) {
    throw new LockError(
      `output folder ${dir} is in use by process ${pid} on host ${old.host} (cannot check it from here)${hint}`,
    );
  }
  if (pid === process.pid) {
    if (held.has(path))
      throw new LockError(
        `output folder ${dir} is in use by this process (${pid}); release the first lock before acquiring again`,
      );
    return;
  }
  if (alive(pid) && !reused(pid, old.startedAt)) {
    throw new LockError(
      `output folder ${dir} is in use by process ${pid} (started ${old.startedAt ?? 'at an unknown time'})${hint}`,
    );
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
  return !defunct(pid);
}

// Linux: a killed process its parent has not reaped yet (a zombie: common in containers whose PID 1
// does not reap) still answers kill(pid, 0), but it is gone: state Z (zombie) or X (dead) in
// /proc/PID/stat. Elsewhere there is nothing to read and the process counts as alive.
function defunct(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}

// Linux only: a live process that started well after the lock's owner is a different process that
// was given the same pid. Elsewhere we cannot tell, and assume the owner is still running.
function reused(pid: number, startedAt: string | undefined): boolean {
  const owner = startedAt ? Date.parse(startedAt) : NaN;
  if (!Number.isFinite(owner)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on
    const ticks = Number(fields[19]); // #22 starttime, in clock ticks after boot
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(btime)) return false;
    const started = btime * 1000 + ticks * 10; // USER_HZ is 100 on every Linux ABI node runs on
    return started > owner + 5000;
  } catch {
    return false;
  }
}
