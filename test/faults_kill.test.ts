// Kill and resume: a CLI training run is SIGKILLed at fixed points (right after a step's metrics line,
// before its checkpoint; half-way through a checkpoint write: test/fixtures/cli_child.ts) and resumed
// each time. Every kill lands whatever the machine's speed; every newest checkpoint loads (checksum
// checked) at the step the kill point implies, stale temps and locks are cleaned up, and the end result
// equals an uninterrupted run bit for bit, metrics.jsonl included.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '../src/node/files/checkpoint.js';
import { type ChildFaults, cliArgs, metricsOf, makeData, runCli, weightsDiffer } from './fixtures/faults.js';

const dir = mkdtempSync(join(tmpdir(), 'faults-kill-'));
const data = join(dir, 'data');
const EPOCHS = 4; // 64 images / batch 8 = 8 steps an epoch: 32 steps; the kills below use about 12
const isTemp = (n: string) => /\.tmp-\d+-[0-9a-f]+$/.test(n);
test.after(() => rmSync(dir, { recursive: true, force: true }));

// Each round's kill point, counted from the start of that (resumed) run.
const ROUNDS: ChildFaults[] = [
  { killAtStepLine: 3 },
  { killInWrite: 2 },
  { killAtStepLine: 5 },
  { killInWrite: 4 },
  { killAtStepLine: 1 },
  { killInWrite: 1 },
  { killAtStepLine: 2 },
  { killInWrite: 3 },
];

test('SIGKILL after a step and inside a checkpoint write, resume, same weights and metrics as an uninterrupted run', async () => {
  await makeData(data, 64, 16);
  const ref = join(dir, 'ref');
  const r0 = await runCli(cliArgs(data, ref, EPOCHS));
  assert.is(r0.code, 0, r0.stderr);

  const out = join(dir, 'killed');
  const ck = join(out, 'checkpoint.safetensors');
  let step = 0, // of the checkpoint on disk
    leftTemps: string[] = [];
  for (const [round, faults] of ROUNDS.entries()) {
    const resume = existsSync(ck) ? ['--resume', out] : [];
    const child = await runCli(cliArgs(data, out, EPOCHS, resume), 90_000, faults);
    assert.is(child.signal, 'SIGKILL', `round ${round} was not killed (exit ${child.code}): ${child.stderr}`);
    // A previous round's leftover temp file is gone once a run has started after it.
    for (const t of leftTemps) assert.not.ok(existsSync(join(out, t)), `stale ${t} still there`);
    if (leftTemps.length) assert.match(child.stderr, /removed 1 unfinished file\(s\) a killed run left/);
    if (resume.length) assert.match(child.stderr, /took over a stale lock of process \d+/);
    leftTemps = readdirSync(out).filter(isTemp);
    assert.is(leftTemps.length, faults.killInWrite ? 1 : 0, `round ${round}: temp files ${leftTemps}`);
    const before = step;
    step = existsSync(ck) ? (await loadCheckpoint(ck)).state!.step : 0; // verifies the sha256 of the data
    const lines = metricsOf(readFileSync(join(out, 'metrics.jsonl'), 'utf8')).filter((m) => m.kind === 'step');
    if (faults.killAtStepLine) {
      // the n-th step line is on disk, its step's checkpoint is not: one line past the checkpoint
      assert.is(step, before + faults.killAtStepLine - 1, `round ${round}`);
      assert.is(lines.at(-1)!.step, step + 1, `round ${round}: the last step line`);
    } else {
      assert.ok(step >= before && step <= before + faults.killInWrite! - 1, `round ${round}: step ${before} → ${step}`);
      // the killed write is the next step's periodic one, or the epoch-end one of the step on disk
      const lastLine = lines.at(-1)?.step ?? 0;
      assert.ok(
        lastLine === step + 1 || lastLine === step,
        `round ${round}: step line ${lastLine}, checkpoint ${step}`,
      );
    }
  }

  const last = await runCli(cliArgs(data, out, EPOCHS, ['--resume', out]));
  assert.is(last.code, 0, last.stderr);
  assert.match(last.stderr, /removed 1 unfinished file\(s\) a killed run left/);
  assert.equal(await weightsDiffer(join(ref, 'final.safetensors'), join(out, 'final.safetensors')), []);
  assert.equal(await weightsDiffer(join(ref, 'checkpoint.safetensors'), ck), []);
  assert.equal(
    metricsOf(readFileSync(join(out, 'metrics.jsonl'), 'utf8')),
    metricsOf(readFileSync(join(ref, 'metrics.jsonl'), 'utf8')),
  );
  assert.equal(
    readdirSync(out).filter((n) => isTemp(n) || n === '.lock'),
    [],
  );
  console.log(`  ${ROUNDS.length} kills at fixed points; the last checkpoint before the end at step ${step}`);
});

test.run();
