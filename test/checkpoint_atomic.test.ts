// Atomic writes: the new file appears whole, a failed write (ENOSPC mid-file, failed fsync, failed
// rename, missing parent) leaves the previous file untouched and no temp files, and errors are typed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { atomicWrite, nodeFs, CheckpointWriteError, type AtomicFs } from '../src/node/files/atomic.js';
import { readSafetensors, writeSafetensors } from '../src/node/files/safetensors.js';
import { AlexnetError } from '../src/errors.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'atomic-'));
const errno = (code: string, msg: string) => Object.assign(new Error(`${code}: ${msg}`), { code });

/** Real file system, except that the data writes fail with `code` once `after` bytes went through. */
function failingWrites(code: string, after: number): AtomicFs {
  return {
    ...nodeFs,
    async open(path, flags, mode) {
      const fh = await open(path, flags, mode);
      if (flags === 'r') return fh; // the directory sync
      let written = 0;
      return {
        async write(buf, off, len, pos) {
          if (written + len > after) throw errno(code, 'no space left on device, write');
          written += len;
          return fh.write(buf, off, len, pos);
        },
        sync: () => fh.sync(),
        close: () => fh.close(),
      };
    },
  };
}

async function rejects(p: Promise<unknown>, check: (e: CheckpointWriteError) => void): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, CheckpointWriteError);
    assert.instance(err, AlexnetError);
    check(err as CheckpointWriteError);
    return;
  }
  assert.unreachable('write should have failed');
}

test('writes the whole file from parts, short writes included, and leaves no temp file', async () => {
  const dir = fresh(),
    path = join(dir, 'a.bin');
  const parts = [Buffer.from('hello '), new Uint8Array(0), Buffer.from('world'), new Uint8Array(100_000).fill(7)];
  // A file system that writes at most 1000 bytes per call: the loop must resume where it stopped.
  const short: AtomicFs = {
    ...nodeFs,
    async open(p, f, m) {
      const fh = await open(p, f, m);
      return {
        write: (b, o, l, pos) => fh.write(b, o, Math.min(l, 1000), pos),
        sync: () => fh.sync(),
        close: () => fh.close(),
      };
    },
  };
  await atomicWrite(path, parts, short);
  assert.ok(readFileSync(path).equals(Buffer.concat(parts)));
  await atomicWrite(path, Buffer.from('replaced'));
  assert.is(readFileSync(path, 'utf8'), 'replaced');
  assert.equal(readdirSync(dir), ['a.bin']);
});

// A power cut cannot be staged in a test; what makes the write survive one is the order of the calls:
// the data is fsynced before the rename makes it visible, and the directory is fsynced after it, so the
// new name is durable. A recording file system asserts that order (and each handle closed).
test('power-cut safety: write → fsync(file) → close → rename → fsync(directory) → close, in that order', async () => {
  const dir = fresh(),
    path = join(dir, 'ck.safetensors');
  const calls: string[] = [];
  const log = <T>(call: string, then: () => T): T => {
    calls.push(call);
    return then();
  };
  const name = (p: string) => (p === dir ? 'dir' : p === path ? 'target' : /\.tmp-\d+-[0-9a-f]+$/.test(p) ? 'temp' : p);
  const recording: AtomicFs = {
    ...nodeFs,
    async open(p, f, m) {
      const fh = await open(p, f, m);
      const n = name(p);
      calls.push(`open ${n} ${f}`);
      return {
        write: (b, o, l, pos) => log(`write ${n}`, () => fh.write(b, o, l, pos)),
        sync: () => log(`sync ${n}`, () => fh.sync()),
        close: () => log(`close ${n}`, () => fh.close()),
      };
    },
    rename: (a, b) => log(`rename ${name(a)} ${name(b)}`, () => nodeFs.rename(a, b)),
  };
  await atomicWrite(path, [Buffer.from('two '), Buffer.from('parts')], recording);
  assert.equal(calls, [
    'open temp wx',
    'write temp',
    'write temp',
    'sync temp',
    'close temp',
    'rename temp target',
    'open dir r',
    'sync dir',
    'close dir',
  ]);
  assert.is(readFileSync(path, 'utf8'), 'two parts');
});

test('ENOSPC mid-write: previous file untouched, temp removed, typed error names path and code', async () => {
  const dir = fresh(),
    path = join(dir, 'model.safetensors');
  writeFileSync(path, 'previous checkpoint');
  await rejects(atomicWrite(path, [Buffer.alloc(10), Buffer.alloc(10)], failingWrites('ENOSPC', 15)), (e) => {
    assert.is(e.code, 'ENOSPC');
    assert.is(e.path, path);
    assert.match(e.message, new RegExp(`cannot write ${path}: ENOSPC`));
    assert.match(e.message, /previous file is untouched/);
  });
  assert.is(readFileSync(path, 'utf8'), 'previous checkpoint');
  assert.equal(readdirSync(dir), ['model.safetensors']);
});

test('failed fsync (EIO) and failed rename leave the previous file', async () => {
  const dir = fresh(),
    path = join(dir, 'x.bin');
  writeFileSync(path, 'old');
  const badSync: AtomicFs = {
    ...nodeFs,
    async open(p, f, m) {
      const fh = await open(p, f, m);
      return {
        write: (b, o, l, pos) => fh.write(b, o, l, pos),
        sync: async () => {
          throw errno('EIO', 'i/o error, fsync');
        },
        close: () => fh.close(),
      };
    },
  };
  await rejects(atomicWrite(path, Buffer.from('new'), badSync), (e) => assert.is(e.code, 'EIO'));
  const badRename: AtomicFs = {
    ...nodeFs,
    rename: async () => {
      throw errno('EROFS', 'read-only file system, rename');
    },
  };
  await rejects(atomicWrite(path, Buffer.from('new'), badRename), (e) => assert.is(e.code, 'EROFS'));
  assert.is(readFileSync(path, 'utf8'), 'old');
  assert.equal(readdirSync(dir), ['x.bin']);
});

test('real OS failures: target is a directory, parent is a file', async () => {
  const dir = fresh();
  mkdirSync(join(dir, 'taken'));
  writeFileSync(join(dir, 'taken', 'keep'), 'k');
  await rejects(atomicWrite(join(dir, 'taken'), Buffer.from('x')), (e) =>
    assert.ok(['EISDIR', 'ENOTEMPTY', 'EEXIST'].includes(e.code!), e.message),
  );
  assert.equal(readdirSync(dir), ['taken']);
  assert.is(readFileSync(join(dir, 'taken', 'keep'), 'utf8'), 'k');
  writeFileSync(join(dir, 'file'), 'f');
  await rejects(atomicWrite(join(dir, 'file', 'ck.safetensors'), Buffer.from('x')), (e) =>
    assert.is(e.code, 'ENOTDIR'),
  );
  assert.equal(readdirSync(dir).sort(), ['file', 'taken']);
});

test('a checkpoint write that runs out of space keeps the previous checkpoint readable', async () => {
  const dir = fresh(),
    path = join(dir, 'ck.safetensors');
  const v1 = { w: { dtype: 'F32' as const, shape: [1000], data: new Float32Array(1000).fill(1) } };
  const v2 = { w: { dtype: 'F32' as const, shape: [1000], data: new Float32Array(1000).fill(2) } };
  await writeSafetensors(path, v1, { epoch: '1' });
  await rejects(writeSafetensors(path, v2, { epoch: '2' }, failingWrites('ENOSPC', 2000)), (e) =>
    assert.is(e.code, 'ENOSPC'),
  );
  const back = await readSafetensors(path);
  assert.is(back.metadata.epoch, '1');
  assert.is((back.tensors.w.data as Float32Array)[999], 1);
  assert.equal(readdirSync(dir), ['ck.safetensors']);
});

test.run();
