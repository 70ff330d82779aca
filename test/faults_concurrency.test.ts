// Concurrency: two engines training at once in one process, and two CLI processes writing different
// folders at once, give the results of one run alone; a second process on the same folder is refused
// with a LockError (exit 1) without disturbing the first; a stale lock of a dead process is taken over.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../src/node/dawn.js';
import { LockError } from '../src/node/files/lock.js';
import { train } from '../src/node/train/trainer.js';
import { cliArgs, makeData, options, quiet, runCli, startCli, weightsDiffer } from './fixtures/faults.js';

const dir = mkdtempSync(join(tmpdir(), 'faults-concurrency-'));
const data = join(dir, 'data'),
  ref = join(dir, 'ref');
const refFinal = join(ref, 'final.safetensors');
test.before(async () => {
  await makeData(data, 48);
  const e = await createEngine();
  try {
    await train(options(data, ref), { ...quiet, engine: e });
  } finally {
    e.dispose();
  }
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('two engines in one process training at once: both equal a run alone; one folder twice is a LockError', async () => {
  const [e1, e2] = [await createEngine(), await createEngine()];
  try {
    const a = join(dir, 'engine-a'),
      b = join(dir, 'engine-b');
    await Promise.all([
      train(options(data, a), { ...quiet, engine: e1 }),
      train(options(data, b), { ...quiet, engine: e2 }),
    ]);
    assert.equal(await weightsDiffer(refFinal, join(a, 'final.safetensors')), []);
    assert.equal(await weightsDiffer(refFinal, join(b, 'final.safetensors')), []);
    const same = join(dir, 'engine-same');
    const results = await Promise.allSettled([
      train(options(data, same), { ...quiet, engine: e1 }),
      train(options(data, same), { ...quiet, engine: e2 }),
    ]);
    const refused = results.filter((r) => r.status === 'rejected');
    assert.is(refused.length, 1);
    assert.ok((refused[0] as PromiseRejectedResult).reason instanceof LockError);
    assert.match(
      (refused[0] as PromiseRejectedResult).reason.message,
      /is in use by this process|is being locked by another process right now/,
    );
    assert.equal(await weightsDiffer(refFinal, join(same, 'final.safetensors')), []);
  } finally {
    e1.dispose();
    e2.dispose();
  }
});

test('two CLI processes on different folders at once: both finish with the weights of a run alone', async () => {
  const a = join(dir, 'proc-a'),
    b = join(dir, 'proc-b');
  const [ra, rb] = await Promise.all([runCli(cliArgs(data, a)), runCli(cliArgs(data, b))]);
  assert.is(ra.code, 0, ra.stderr);
  assert.is(rb.code, 0, rb.stderr);
  assert.equal(await weightsDiffer(refFinal, join(a, 'final.safetensors')), []);
  assert.equal(await weightsDiffer(refFinal, join(b, 'final.safetensors')), []);
});

test('a second process on the same folder is refused (LockError, exit 1); the first is unaffected', async () => {
  const out = join(dir, 'shared');
  const first = startCli(cliArgs(data, out));
  await first.afterSteps(1);
  first.proc.kill('SIGSTOP'); // frozen while holding the lock, so it cannot finish before the second asks
  const second = await runCli(cliArgs(data, out));
  first.proc.kill('SIGCONT');
  assert.is(second.code, 1, second.stderr);
  assert.match(
    second.stderr,
    new RegExp(
      `alexnet-wgsl: LockError: output folder ${out} is in use by process ${first.proc.pid} \\(started [^)]+\\); wait for it to finish`,
    ),
  );
  assert.not.match(second.stdout, /step/); // refused before it trained anything
  const { code } = await first.exit;
  assert.is(code, 0, first.stderr);
  assert.equal(await weightsDiffer(refFinal, join(out, 'final.safetensors')), []);
  assert.not.ok(existsSync(join(out, '.lock')));
});

test('a stale lock of a dead process is detected and taken over', async () => {
  const out = join(dir, 'stale');
  mkdirSync(out);
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const pid = Number(dead.stdout.trim());
  writeFileSync(
    join(out, '.lock'),
    `${JSON.stringify({ pid, startedAt: new Date(Date.now() - 60_000).toISOString(), host: hostname(), token: 'x' })}\n`,
  );
  const r = await runCli(cliArgs(data, out));
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`warning: took over a stale lock of process ${pid} in ${out}`));
  assert.equal(await weightsDiffer(refFinal, join(out, 'final.safetensors')), []);
  assert.equal(
    readdirSync(out).filter((n) => n === '.lock'),
    [],
  );
});

test.run();
