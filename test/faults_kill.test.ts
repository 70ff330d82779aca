// Kill and resume: a CLI training run is SIGKILLed at seeded random points — mid-step and right after a
// checkpoint temp file appears — and resumed each time; every newest checkpoint loads (checksum checked),
// stale temps and locks are cleaned up, and the end result equals an uninterrupted run bit for bit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '../src/node/files/checkpoint.js';
import { cliArgs, makeData, metricsOf, rng, runCli, sleep, startCli, weightsDiffer } from './fixtures/faults.js';

const dir = mkdtempSync(join(tmpdir(), 'faults-kill-'));
const data = join(dir, 'data');
const EPOCHS = 4; // 64 images / batch 8 = 8 steps an epoch: 32 steps
const isTemp = (n: string) => /\.tmp-\d+-[0-9a-f]+$/.test(n);
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('SIGKILL mid-step and mid-checkpoint-write, resume, same weights and metrics as an uninterrupted run', async () => {
  await makeData(data, 64, 16);
  const ref = join(dir, 'ref');
  const r0 = await runCli(cliArgs(data, ref, EPOCHS));
  assert.is(r0.code, 0, r0.stderr);

  const out = join(dir, 'killed');
  const random = rng(1989);
  const ck = join(out, 'checkpoint.safetensors');
  let lastStep = 0,
    midWrite = 0,
    extraMetrics = 0,
    kills = 0;
  let leftTemps: string[] = [];
  for (let round = 0; round < 8; round++) {
    const duringWrite = round % 2 === 1;
    const resume = existsSync(ck) ? ['--resume', out] : [];
    // inotify sees the temp file the moment the writer creates it; kill then, before its rename.
    let temps = 0;
    const want = 1 + Math.floor(random() * 4);
    let child: ReturnType<typeof startCli> | undefined;
    const watcher =
      duringWrite && existsSync(out)
        ? watch(out, (_, name) => {
            if (name && isTemp(String(name)) && existsSync(join(out, String(name))) && ++temps === want)
              child?.proc.kill('SIGKILL');
          })
        : undefined;
    child = startCli(cliArgs(data, out, EPOCHS, resume));
    if (!duringWrite) {
      await child.afterSteps(1 + Math.floor(random() * 6));
      await sleep(random() * 150);
      child.proc.kill('SIGKILL');
    }
    const { code, signal } = await child.exit;
    watcher?.close();
    if (signal !== 'SIGKILL') {
      assert.is(code, 0, `round ${round} ended by itself with ${code}: ${child.stderr}`);
      break; // it finished before the kill came: nothing left to interrupt
    }
    kills++;
    // A previous round's leftover temp file is gone once a run has started after it.
    for (const t of leftTemps) assert.not.ok(existsSync(join(out, t)), `stale ${t} still there`);
    if (leftTemps.length) assert.match(child.stderr, /removed \d+ unfinished file\(s\) a killed run left/);
    if (resume.length) assert.match(child.stderr, /took over a stale lock of process \d+/);
    leftTemps = readdirSync(out).filter(isTemp);
    if (leftTemps.length) midWrite++;
    if (!existsSync(ck)) continue;
    const c = await loadCheckpoint(ck); // verifies the sha256 of the data section
    assert.ok(c.state!.step >= lastStep, `checkpoint went back from step ${lastStep} to ${c.state!.step}`);
    lastStep = c.state!.step;
    const metrics = metricsOf(readFileSync(join(out, 'metrics.jsonl'), 'utf8'));
    extraMetrics += metrics.filter((m) => m.kind === 'step' && (m.step as number) > lastStep).length;
  }
  assert.ok(kills >= 4, `only ${kills} runs were killed`);
  assert.ok(midWrite >= 1, 'no kill landed inside a checkpoint write');
  assert.ok(extraMetrics >= 1, 'no kill left metrics lines past the checkpoint');

  const last = await runCli(cliArgs(data, out, EPOCHS, ['--resume', out]));
  assert.is(last.code, 0, last.stderr);
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
  console.log(
    `  ${kills} kills (${midWrite} inside a checkpoint write, ${extraMetrics} metrics lines past a checkpoint), last checkpoint before the end at step ${lastStep}`,
  );
});

test.run();
