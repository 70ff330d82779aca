// Ctrl-C and SIGTERM on the train CLI (a child process): the first signal finishes the step, writes a
// checkpoint and exits 130 saying where it is; a second one exits 130 at once, even in the middle of a
// checkpoint write, and the checkpoint on disk still loads; resuming then ends where an uninterrupted run does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '../src/node/files/checkpoint.js';
import { cliArgs, makeData, runCli, startCli, weightsDiffer } from './fixtures/faults.js';

const dir = mkdtempSync(join(tmpdir(), 'faults-signal-'));
const data = join(dir, 'data'),
  ref = join(dir, 'ref');
const isTemp = (n: string) => /\.tmp-\d+-[0-9a-f]+$/.test(n);
test.before(async () => {
  await makeData(data, 64);
  const r = await runCli(cliArgs(data, ref, 2));
  assert.is(r.code, 0, r.stderr);
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  test(`${sig}: finishes the step, checkpoints, exits 130 with the way to continue`, async () => {
    const out = join(dir, sig);
    const c = startCli(cliArgs(data, out, 2));
    await c.afterSteps(3);
    c.proc.kill(sig);
    const { code } = await c.exit;
    assert.is(code, 130, c.stderr);
    const m = /interrupted at step (\d+): checkpoint written to (\S+); continue with --resume (\S+)/.exec(c.stderr);
    assert.ok(m, c.stderr);
    assert.is(m![2], join(out, 'checkpoint.safetensors'));
    assert.is(m![3], out);
    assert.match(c.stderr, new RegExp(`${sig}: finishing this step and writing a checkpoint`));
    const ck = await loadCheckpoint(m![2]);
    assert.is(ck.state!.step, Number(m![1]));
    assert.equal(
      readdirSync(out).filter((n) => isTemp(n) || n === '.lock'),
      [],
    );
    if (sig === 'SIGINT') {
      const r = await runCli(cliArgs(data, out, 2, ['--resume', out]));
      assert.is(r.code, 0, r.stderr);
      assert.equal(await weightsDiffer(join(ref, 'final.safetensors'), join(out, 'final.safetensors')), []);
    }
  });
}

test('a second Ctrl-C during the checkpoint write exits 130 at once; the checkpoint on disk stays loadable', async () => {
  const out = join(dir, 'twice');
  const c = startCli(cliArgs(data, out, 2));
  await c.afterSteps(4);
  let second = false;
  const watcher = watch(out, (_, name) => {
    if (!second && name && isTemp(String(name)) && existsSync(join(out, String(name)))) {
      second = true;
      c.proc.kill('SIGINT');
    }
  });
  c.proc.kill('SIGINT');
  const { code } = await c.exit;
  watcher.close();
  assert.ok(second, 'no checkpoint write to interrupt');
  assert.is(code, 130, c.stderr);
  assert.match(c.stderr, /SIGINT again: exiting now \(the last checkpoint on disk is intact\)/);
  assert.not.match(c.stderr, /interrupted at step/); // it did not wait for the write
  const before = await loadCheckpoint(join(out, 'checkpoint.safetensors'));
  assert.ok(before.state!.step >= 3, `checkpoint at step ${before.state!.step}`);
  assert.not.ok(existsSync(join(out, '.lock')), 'the lock was released on exit');
  const left = readdirSync(out).filter(isTemp);
  const r = await runCli(cliArgs(data, out, 2, ['--resume', out]));
  assert.is(r.code, 0, r.stderr);
  if (left.length) assert.match(r.stderr, /removed 1 unfinished file/);
  assert.equal(await weightsDiffer(join(ref, 'final.safetensors'), join(out, 'final.safetensors')), []);
  console.log(
    `  second Ctrl-C ${left.length ? 'left a half-written temp file (removed on resume)' : 'came after the rename'}; resumed from step ${before.state!.step}`,
  );
});

test.run();
