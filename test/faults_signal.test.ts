// Ctrl-C and SIGTERM on the train CLI (a child process): the first signal finishes the step, writes a
// checkpoint and exits 130 saying where it is, and resuming ends where an uninterrupted run does, bit
// for bit; a second one exits 130 at once, here while the checkpoint write is stopped half-way (the
// child stops it: test/fixtures/cli_child.ts), and the checkpoint on disk stays whole; a Ctrl-C whose
// checkpoint cannot be written is a CheckpointWriteError, exit 1. No timing decides what is tested.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
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
    const r = await runCli(cliArgs(data, out, 2, ['--resume', out]));
    assert.is(r.code, 0, r.stderr);
    assert.equal(await weightsDiffer(join(ref, 'final.safetensors'), join(out, 'final.safetensors')), []);
  });
}

test('a second Ctrl-C during the checkpoint write exits 130 at once; the checkpoint on disk stays whole', async () => {
  const out = join(dir, 'twice');
  const c = startCli(cliArgs(data, out, 2), 90_000, { pauseAfterSignal: true });
  await c.afterSteps(4);
  c.proc.kill('SIGINT');
  const temp = await c.paused; // the Ctrl-C checkpoint is being written, half of it on disk
  assert.ok(temp && existsSync(temp), `the write was not reached: ${c.stdout}\n${c.stderr}`);
  c.proc.kill('SIGINT');
  const { code } = await c.exit;
  assert.is(code, 130, c.stderr);
  assert.match(c.stderr, /SIGINT again: exiting now \(the last checkpoint on disk is intact\)/);
  assert.not.match(c.stderr, /interrupted at step/); // it did not wait for the write
  assert.ok(existsSync(temp!), 'the interrupted write left its temp file');
  // The last write that ended (of step 3 at least: the one paused may be step 4's periodic one); whole,
  // its checksum verified.
  const before = await loadCheckpoint(join(out, 'checkpoint.safetensors'));
  assert.ok(before.state!.step >= 3, `checkpoint at step ${before.state!.step}`);
  assert.not.ok(existsSync(join(out, '.lock')), 'the lock was released on exit');
  const r = await runCli(cliArgs(data, out, 2, ['--resume', out]));
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /removed 1 unfinished file/);
  assert.not.ok(existsSync(temp!));
  assert.equal(await weightsDiffer(join(ref, 'final.safetensors'), join(out, 'final.safetensors')), []);
});

test('a Ctrl-C whose checkpoint cannot be written: CheckpointWriteError naming the last good one, exit 1', async () => {
  const out = join(dir, 'unwritable');
  const c = startCli(cliArgs(data, out, 2), 90_000, { failAfterSignal: true });
  await c.afterSteps(3);
  c.proc.kill('SIGINT');
  const { code } = await c.exit;
  assert.is(code, 1, c.stderr);
  const m =
    /CheckpointWriteError: cannot write \S+checkpoint\.safetensors: ENOSPC.*this checkpoint is required, so training stopped at step (\d+)\. The last good checkpoint is \S+ \(step (\d+)\)/.exec(
      c.stderr,
    );
  assert.ok(m, c.stderr);
  // The signal lands either before the loop looks for it after step n (stop there: the last good
  // checkpoint is n − 1's) or just after, while step n's periodic write is under way (that write
  // fails, with a warning, and the stop comes after step n + 1): both name n − 1's checkpoint.
  const [stopped, good] = [Number(m![1]), Number(m![2])];
  assert.ok(good === stopped - 1 || good === stopped - 2, `stopped at ${stopped}, last good ${good}`);
  if (good === stopped - 2) assert.match(c.stderr, /training goes on and the next checkpoint tries again/, 'warned');
  assert.is((await loadCheckpoint(join(out, 'checkpoint.safetensors'))).state!.step, Number(m![2]));
  assert.equal(
    readdirSync(out).filter((n) => isTemp(n) || n === '.lock'),
    [],
  );
});

test.run();
