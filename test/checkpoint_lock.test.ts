// Output-folder lock: a second acquire refuses, a live foreign process refuses, a dead or reused pid is
// a stale lock that is taken over, and release only removes a lock that is still ours.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { acquireLock, LockError } from '../src/node/files/lock.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'lock-'));
const fake = (dir: string, info: object) =>
  writeFileSync(join(dir, '.lock'), JSON.stringify({ host: hostname(), token: 'theirs', ...info }));

async function refuses(dir: string, re: RegExp): Promise<void> {
  try {
    await acquireLock(dir);
  } catch (err) {
    assert.instance(err, LockError);
    assert.match((err as Error).message, re);
    return;
  }
  assert.unreachable('lock should have been refused');
}

/** A pid that surely belongs to no process: a child that has already exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

test('acquire writes pid and start time; a second acquire refuses; release removes it', async () => {
  const dir = fresh();
  const lock = await acquireLock(dir);
  assert.is(lock.tookOver, undefined);
  const info = JSON.parse(readFileSync(join(dir, '.lock'), 'utf8'));
  assert.is(info.pid, process.pid);
  assert.ok(Math.abs(Date.parse(info.startedAt) - (Date.now() - process.uptime() * 1000)) < 2000);
  await refuses(dir, new RegExp(`output folder ${dir} is in use by this process \\(${process.pid}\\)`));
  await lock.release();
  assert.not.ok(existsSync(join(dir, '.lock')));
  await lock.release(); // idempotent
  const again = await acquireLock(dir);
  again.releaseSync();
  assert.not.ok(existsSync(join(dir, '.lock')));
});

test('a live foreign process holds the folder', async () => {
  const dir = fresh();
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { stdio: 'ignore' });
  try {
    fake(dir, { pid: child.pid, startedAt: new Date().toISOString() });
    await refuses(
      dir,
      new RegExp(`output folder ${dir} is in use by process ${child.pid} \\(started .*\\); wait for it`),
    );
    fake(dir, { pid: child.pid, startedAt: new Date().toISOString(), host: 'elsewhere' });
    await refuses(dir, /in use by process \d+ on host elsewhere/);
  } finally {
    child.kill();
  }
});

test('stale locks are taken over: dead pid, our own pid from an earlier process, reused pid', async () => {
  const dir = fresh();
  const dead = deadPid();
  fake(dir, { pid: dead, startedAt: '2020-01-01T00:00:00.000Z' });
  const a = await acquireLock(dir);
  assert.is(a.tookOver?.pid, dead);
  assert.is(JSON.parse(readFileSync(join(dir, '.lock'), 'utf8')).pid, process.pid);
  await a.release();

  fake(dir, { pid: process.pid, startedAt: '2020-01-01T00:00:00.000Z' }); // container restarted, same pid
  const b = await acquireLock(dir);
  assert.is(b.tookOver?.pid, process.pid);
  await b.release();

  if (process.platform === 'linux') {
    // a live process that started long after the lock's owner
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { stdio: 'ignore' });
    try {
      fake(dir, { pid: child.pid, startedAt: '2020-01-01T00:00:00.000Z' });
      const c = await acquireLock(dir);
      assert.is(c.tookOver?.pid, child.pid);
      await c.release();
    } finally {
      child.kill();
    }
  }
});

test('a zombie (killed, not reaped by its parent) holds nothing: its lock is taken over', async () => {
  // sh starts `sleep 0.1` in the background and becomes `sleep 30`, which never reaps it: once it
  // exits it is a zombie, which kill(pid, 0) still finds
  const holder = spawn('/bin/sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 30'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    const pid = Number(
      await new Promise<string>((resolve) => holder.stdout!.once('data', (b) => resolve(String(b).trim()))),
    );
    let state = '';
    for (let i = 0; i < 50 && state !== 'Z'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    }
    assert.is(state, 'Z', `process ${pid} is a zombie`);
    process.kill(pid, 0); // and kill(pid, 0) still succeeds: it alone would call the owner alive
    const dir = fresh();
    fake(dir, { pid, startedAt: new Date(Date.now() - 1000).toISOString() });
    const lock = await acquireLock(dir);
    assert.is(lock.tookOver?.pid, pid);
    await lock.release();
  } finally {
    holder.kill();
  }
});

test('unreadable lock: refused while fresh, taken over once old', async () => {
  const dir = fresh();
  writeFileSync(join(dir, '.lock'), '');
  await refuses(dir, /being locked by another process right now/);
  const old = new Date(Date.now() - 60_000);
  utimesSync(join(dir, '.lock'), old, old);
  const lock = await acquireLock(dir);
  assert.ok(lock.tookOver);
  await lock.release();
});

test('release leaves a lock that someone else has taken over since', async () => {
  const dir = fresh();
  const lock = await acquireLock(dir);
  fake(dir, { pid: deadPid(), startedAt: new Date().toISOString() });
  await lock.release();
  assert.ok(existsSync(join(dir, '.lock')));
});

test('a missing folder is a LockError naming the lock path', async () => {
  const dir = join(fresh(), 'missing');
  await refuses(dir, /cannot create lock .*missing\/\.lock: ENOENT/);
});

test.run();
