// Files that cannot be written (EACCES/ENOSPC through the AtomicFs hook, and a real full tmpfs when this
// process may mount one): the error names the path and the OS code, the previous checkpoint stays whole,
// training goes on and retries (stopping after 3 failures in a row), metrics lines wait for the disk, a
// final checkpoint that cannot be written is exit 1, and nothing is lost.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointWriteError, nodeFs, type AtomicFs } from '../src/node/files/atomic.js';
import { loadCheckpoint } from '../src/node/files/checkpoint.js';
import { train } from '../src/node/train/trainer.js';
import { gpu, disposeGpu } from './helpers.js';
import { cliArgs, makeData, metricsOf, options, quiet, runCli, weightsDiffer } from './fixtures/faults.js';

const dir = mkdtempSync(join(tmpdir(), 'faults-disk-'));
const data = join(dir, 'data'),
  ref = join(dir, 'ref');
let mounted: string | undefined;
test.before(async () => {
  await makeData(data, 48);
  await train(options(data, ref), { ...quiet, engine: await gpu() }); // 12 steps
});
test.after(() => {
  disposeGpu();
  if (mounted) spawnSync('umount', ['-l', mounted]);
  rmSync(dir, { recursive: true, force: true });
});

const errno = (code: string, what: string) => Object.assign(new Error(`${code}: simulated, ${what}`), { code });

/** The real file system, except that checkpoint temp files fail (`code`) while `failing()` says so: EACCES at open, ENOSPC mid-write. */
function flakyFs(failing: () => string | undefined): AtomicFs {
  return {
    ...nodeFs,
    async open(path, flags, mode) {
      const code = /checkpoint\.safetensors\.tmp-/.test(path) ? failing() : undefined;
      if (code === 'EACCES') throw errno(code, `open '${path}'`);
      const fh = await open(path, flags, mode);
      if (!code) return fh;
      let written = 0;
      return {
        async write(buf, off, len, pos) {
          if ((written += len) > 100_000) throw errno(code, 'no space left on device, write');
          return fh.write(buf, off, len, pos);
        },
        sync: () => fh.sync(),
        close: () => fh.close(),
      };
    },
  };
}

test('two failed checkpoint writes (EACCES): warned with path and code, old checkpoint intact, training unharmed', async () => {
  const out = join(dir, 'eacces');
  const warnings: string[] = [];
  let step = 0;
  const r = await train(options(data, out, { fs: flakyFs(() => (step === 3 || step === 4 ? 'EACCES' : undefined)) }), {
    log: () => {},
    warn: (w) => warnings.push(w),
    engine: await gpu(),
    onStep: (s) => {
      if (s.step === 3 || s.step === 4) assert.ok(existsSync(join(out, 'checkpoint.safetensors')));
      step = s.step + 1; // the write the next step makes
    },
  });
  assert.is(r.state.step, 12);
  const written = warnings.filter((w) => /cannot write/.test(w));
  assert.is(written.length, 2, warnings.join('\n'));
  for (const w of written) {
    assert.match(w, new RegExp(`cannot write ${join(out, 'checkpoint.safetensors').replace(/[.]/g, '\\.')}: EACCES`));
    assert.match(
      w,
      /the previous file is untouched\); training goes on and the next checkpoint tries again \(\d of 3 allowed in a row\)\. The last good checkpoint is \S+ \(step 2\)/,
    );
  }
  assert.equal(await weightsDiffer(join(ref, 'final.safetensors'), join(out, 'final.safetensors')), []);
  assert.equal(
    readdirSync(out).filter((n) => /\.tmp-|^\.lock$/.test(n)),
    [],
  );
});

test('ENOSPC on every write from step 5: stops after 3 in a row (steps 5, 6 and the end of epoch 1) with CheckpointWriteError; step 4 checkpoint byte-identical', async () => {
  const out = join(dir, 'enospc');
  let step = 0,
    good: Buffer | undefined;
  const err = await train(options(data, out, { fs: flakyFs(() => (step >= 5 ? 'ENOSPC' : undefined)) }), {
    ...quiet,
    engine: await gpu(),
    onStep: (s) => {
      if (s.step === 4) good = readFileSync(join(out, 'checkpoint.safetensors'));
      step = s.step + 1;
    },
  }).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(err instanceof CheckpointWriteError, String(err));
  assert.is(err.code, 'ENOSPC');
  assert.is(err.path, join(out, 'checkpoint.safetensors'));
  assert.match(
    err.message,
    /3 checkpoint writes failed in a row, so training stopped at step 6\. The last good checkpoint is \S+ \(step 4\)/,
  );
  assert.ok(readFileSync(join(out, 'checkpoint.safetensors')).equals(good!));
  assert.equal(
    readdirSync(out).filter((n) => /\.tmp-|^\.lock$/.test(n)),
    [],
  );
  // space again: resuming loses nothing but the 2 steps after the last good checkpoint
  await train(options(data, out, { resume: out }), { ...quiet, engine: await gpu() });
  assert.equal(await weightsDiffer(join(ref, 'final.safetensors'), join(out, 'final.safetensors')), []);
});

test('metrics lines that cannot be appended (ENOSPC at steps 3–5) are kept and appended later: the file is whole', async () => {
  const out = join(dir, 'metrics');
  const warnings: string[] = [];
  let step = 0,
    failed = 0;
  const fs: AtomicFs = {
    ...nodeFs,
    async appendFile(path, text) {
      if (step >= 3 && step <= 5) {
        failed++;
        throw errno('ENOSPC', `no space left on device, write '${path}'`);
      }
      return nodeFs.appendFile(path, text);
    },
  };
  await train(options(data, out, { fs }), {
    log: () => {},
    warn: (w) => warnings.push(w),
    engine: await gpu(),
    onStep: (s) => (step = s.step + 1),
  });
  assert.is(failed, 3);
  const appends = warnings.filter((w) => /cannot append/.test(w));
  assert.is(appends.length, 1, warnings.join('\n')); // warned once
  assert.match(
    appends[0],
    /cannot append to \S+metrics\.jsonl \(ENOSPC: .*\); lines are kept and appended once it works again/,
  );
  const lines = (d: string) => metricsOf(readFileSync(join(d, 'metrics.jsonl'), 'utf8'));
  assert.equal(lines(out), lines(ref));
  assert.ok(lines(ref).some((m) => m.step === 4));
});

test('the final checkpoint cannot be written: CheckpointWriteError naming final.safetensors, exit 1; checkpoint.safetensors holds the end', async () => {
  const out = join(dir, 'final');
  const r = await runCli(cliArgs(data, out, 2), 90_000, { failFinal: true });
  assert.is(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`CheckpointWriteError: cannot write ${join(out, 'final').replace(/[.]/g, '\\.')}\\.safetensors: ENOSPC`),
  );
  assert.not.ok(existsSync(join(out, 'final.safetensors')));
  assert.is((await loadCheckpoint(join(out, 'checkpoint.safetensors'))).state!.step, 12);
  assert.equal(
    readdirSync(out).filter((n) => /\.tmp-|^\.lock$/.test(n)),
    [],
  );
});

// A real full disk needs a tmpfs, which only a process allowed to mount can make; where it cannot, the
// test is reported as skipped (the full-disk case then rests on the ENOSPC test above, through the hook).
const mountable = (() => {
  const probe = mkdtempSync(join(tmpdir(), 'faults-disk-probe-'));
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]).status === 0;
  if (ok) spawnSync('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
  return ok;
})();
(mountable ? test : test.skip)(
  'a real full disk (a tmpfs 1.5 checkpoints big): ENOSPC, then resume after making room',
  async () => {
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    const ckBytes = statSync(join(ref, 'checkpoint.safetensors')).size;
    const kib = (f: number) => `${Math.ceil((f * ckBytes) / 4096) * 4}k`;
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kib(1.5)}`, 'tmpfs', mnt], { encoding: 'utf8' });
    assert.is(m.status, 0, m.stderr);
    mounted = mnt;
    const out = join(mnt, 'run');
    const warnings: string[] = [];
    // the first checkpoint fits; the second needs room for its temp file beside it
    const err = await train(options(data, out), {
      log: () => {},
      warn: (w) => warnings.push(w),
      engine: await gpu(),
    }).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(err instanceof CheckpointWriteError, String(err));
    assert.is(err.code, 'ENOSPC');
    assert.match(err.message, /no space left on device/i);
    assert.is(warnings.filter((w) => /ENOSPC/.test(w)).length, 2);
    assert.is((await loadCheckpoint(join(out, 'checkpoint.safetensors'))).state!.step, 1);
    assert.equal(
      readdirSync(out).filter((n) => /\.tmp-|^\.lock$/.test(n)),
      [],
    );
    assert.is(spawnSync('mount', ['-o', `remount,size=${kib(4)}`, mnt]).status, 0);
    await train(options(data, out, { resume: out }), { ...quiet, engine: await gpu() });
    assert.equal(await weightsDiffer(join(ref, 'final.safetensors'), join(out, 'final.safetensors')), []);
    spawnSync('umount', [mnt]);
    mounted = undefined;
  },
);

test.run();
