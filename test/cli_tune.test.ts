// The commands for people who installed the package: `bench kernels` validates any conv or GEMM
// shape against float64 and times each variant the tuner would consider (JSON too; a bad shape
// exits 2); `tune` times a training step's shapes, writes the cache, and a second run finds every
// shape there.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const dir = mkdtempSync(join(tmpdir(), 'cli-tune-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['dist/cli.js', ...args], {
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, XDG_RUNTIME_DIR: '/tmp', ALEXNET_WGSL_CACHE: join(dir, 'cache') },
  });

test('bench kernels: a conv (three directions) and a GEMM, validated, every variant timed, JSON written', () => {
  const json = join(dir, 'k.json');
  const r = cli('bench', 'kernels', '--conv', '2,6,9,9,8,3,2,1,2', '--gemm', '37,70,45', '--reps', '1', '--json', json);
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(
    out.reports.map((x: { what: string }) => x.what),
    [
      'conv n2 c6 9x9 o8 k3 s2 p1 g2 fwd',
      'conv n2 c6 9x9 o8 k3 s2 p1 g2 bwdData',
      'conv n2 c6 9x9 o8 k3 s2 p1 g2 bwdFilter',
      'gemm M37 N70 K45',
    ],
  );
  for (const x of out.reports) {
    assert.ok(x.error < 1e-4, `${x.what}: error ${x.error}`);
    assert.ok(x.variants.length >= 1 && x.variants.every((v: { ms: number }) => v.ms >= 0));
    assert.ok(x.variants.some((v: { label: string }) => v.label === x.winner));
  }
  assert.ok(out.reports[3].variants.length >= 2, 'the GEMM has variants');
  assert.match(r.stdout, /recheck: default [\d.]+ ms, winner [\d.]+ ms/);
  const bad = cli('bench', 'kernels', '--conv', '1,2,3');
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--conv 1,2,3: expected N,C,H,W,O,K,S,P,G/);
});

test('tune: the table, the cache written; run again, every shape is found there', () => {
  const r = cli('tune', '--arch', 'mini', '--batch-size', '2');
  assert.is(r.status, 0, r.stderr);
  const rows = r.stdout.split('\n').filter((l) => /^ +\d+\/\d+ conv2d|^ +\d+\/\d+ gemm/.test(l));
  assert.ok(rows.length >= 10, r.stdout);
  assert.ok(
    rows.every((l) => / → (\S+ wg\d+|wgx\d+|subgroup\S+|shared64x64|tiled64x64) \(/.test(l)),
    rows.join('\n'),
  );
  const cache = JSON.parse(readFileSync(join(dir, 'cache', 'autotune.json'), 'utf8'));
  const [table] = Object.values(cache) as Record<string, string>[];
  assert.is(Object.keys(table).length, rows.length);
  const again = cli('tune', '--arch', 'mini', '--batch-size', '2', '--autotune', 'cached');
  assert.is(again.status, 0, again.stderr);
  assert.match(again.stdout, /every shape already had a stored winner/);
});

test.run();
