// The package as another project gets it: `npm pack` of a clean tree (tracked files only, no build
// output; prepack builds it), installed with --omit=optional (no sharp) into a new client project,
// whose own convnet program (test/fixtures/client) compiles under strict TypeScript with lib ES2022
// and no DOM lib, trains in Node, and bundles for the browser with no Node module in the bundle.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { VERSION } from '../src/version.js';

const repo = process.cwd();
const work = mkdtempSync(join(tmpdir(), 'alexnet-package-'));
const client = join(work, 'client');
let tarball = '';
const bin = (name: string) => join(repo, 'node_modules', '.bin', name);
const run = (cmd: string, args: string[], cwd: string, timeout = 240_000) => {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' },
  });
  if (r.status !== 0)
    assert.unreachable(
      `${cmd} ${args.join(' ')} (in ${cwd}) failed (${r.status ?? r.error?.message}):\n${r.stdout}\n${r.stderr}`,
    );
  return r.stdout;
};

test.after(() => rmSync(work, { recursive: true, force: true }));

test("the engine's VERSION (the autotune cache's key) is package.json's", () => {
  assert.is(VERSION, JSON.parse(readFileSync('package.json', 'utf8')).version);
});

test('npm pack of a clean tree holds the built package and nothing else', () => {
  // the files git knows (tracked, or new and not ignored): what a clean clone of this state holds
  const tree = join(work, 'tree');
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: repo,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((f) => f && existsSync(join(repo, f)));
  for (const f of files) {
    mkdirSync(dirname(join(tree, f)), { recursive: true });
    cpSync(join(repo, f), join(tree, f));
  }
  assert.not.ok(existsSync(join(tree, 'dist')), 'no build output in the tree');
  symlinkSync(join(repo, 'node_modules'), join(tree, 'node_modules')); // the build tools, as npm ci would install them
  const out = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], tree));
  tarball = join(work, out[0].filename);
  const names: string[] = out[0].files.map((f: { path: string }) => f.path);
  for (const want of [
    'package.json',
    'README.md',
    'LICENSE',
    'dist/index.js',
    'dist/index.node.js',
    'dist/node.js',
    'dist/cli.js',
    'dist/browser/alexnet-wgsl.js',
    'dist/types/index.d.ts',
    'dist/types/node/index.d.ts',
    'dist/types/node/main.d.ts',
  ]) {
    assert.ok(names.includes(want), `${want} is in the tarball`);
  }
  const strays = names.filter(
    (n) =>
      n.endsWith('.map') ||
      n.endsWith('.wgsl') ||
      /^(test|bench|src|kernels|scripts|docs)\//.test(n) ||
      /^dist\/types\/(test|bench)\//.test(n),
  );
  assert.equal(strays, [], 'no source maps, kernels, sources, tests or benches');
  assert.ok(out[0].size < 1.5e6, `tarball is ${out[0].size} bytes`);
});

test('a client project installs it without optional dependencies and compiles its own program with strict TypeScript, no DOM lib', () => {
  assert.ok(tarball, 'the pack test ran');
  mkdirSync(client, { recursive: true });
  cpSync(join(repo, 'test/fixtures/client'), client, { recursive: true });
  writeFileSync(
    join(client, 'package.json'),
    JSON.stringify(
      {
        name: 'client',
        private: true,
        type: 'module',
        dependencies: { 'alexnet-wgsl': `file:${tarball}` },
        devDependencies: {
          '@types/node': JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).devDependencies['@types/node'],
        },
      },
      null,
      2,
    ),
  );
  run(
    'npm',
    ['install', '--omit=optional', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
    client,
    600_000,
  );
  assert.ok(existsSync(join(client, 'node_modules/alexnet-wgsl/dist/index.js')));
  assert.not.ok(existsSync(join(client, 'node_modules/sharp')), 'sharp is not installed');
  // Checking every declaration file too: ours must be clean. @webgpu/types itself names DOM types
  // (ImageBitmap, VideoFrame, …) that only a DOM lib declares, which is why a client without one sets skipLibCheck.
  const strict = spawnSync(
    process.execPath,
    [bin('tsc'), '-p', join(client, 'tsconfig.json'), '--noEmit', '--skipLibCheck', 'false', '--pretty', 'false'],
    { cwd: client, encoding: 'utf8' },
  );
  const errorFiles = [
    ...new Set(
      strict.stdout
        .split('\n')
        .filter((l) => /error TS/.test(l))
        .map((l) => l.split('(')[0]),
    ),
  ];
  assert.equal(
    errorFiles.filter((f) => !f.startsWith('node_modules/@webgpu/types/')),
    [],
    `only @webgpu/types needs the DOM lib:\n${strict.stdout}`,
  );
  run(process.execPath, [bin('tsc'), '-p', join(client, 'tsconfig.json')], client);
  // the types are real, not `any`: a misuse must not compile
  writeFileSync(
    join(client, 'misuse.ts'),
    "import { createEngine } from 'alexnet-wgsl';\nconst e = await createEngine();\nconst n: number = e.device;\nexport { n };\n",
  );
  writeFileSync(
    join(client, 'tsconfig.misuse.json'),
    JSON.stringify({ extends: './tsconfig.json', files: ['misuse.ts'] }),
  );
  const bad = spawnSync(process.execPath, [bin('tsc'), '-p', 'tsconfig.misuse.json', '--noEmit', '--pretty', 'false'], {
    cwd: client,
    encoding: 'utf8',
  });
  assert.ok(
    bad.status !== 0 && /GPUDevice.*not assignable to type 'number'/.test(bad.stdout),
    `misuse is a type error:\n${bad.stdout}`,
  );
});

test('the client trains in Node; importing the package needs no sharp, reading an image says how to install it', () => {
  const r = JSON.parse(run(process.execPath, ['out/main.js'], client).trim().split('\n').pop()!);
  assert.ok(
    r.losses[r.losses.length - 1] < r.losses[0] / 4,
    `loss falls: ${r.losses.map((l: number) => l.toFixed(3)).join(' ')}`,
  );
  assert.is(r.accuracy, 1);
  assert.ok(r.bytes > 700);
  const img = JSON.parse(run(process.execPath, ['out/image.js'], client).trim());
  assert.ok(
    img.missing && /needs the optional package sharp.*install it with: npm install sharp/.test(img.message),
    img.message,
  );
});

test('the same program bundles for the browser with no Node module in the bundle', () => {
  const outfile = join(client, 'bundle.js');
  run(
    bin('esbuild'),
    ['convnet.ts', '--bundle', '--platform=browser', '--format=esm', `--outfile=${outfile}`, '--log-level=error'],
    client,
  );
  const js = readFileSync(outfile, 'utf8');
  const nodeRefs =
    js.match(
      /\bfrom\s*["'](node:[^"']+|fs|path|crypto|zlib|os|child_process|worker_threads|webgpu|sharp)["']|require\(["'][^"']+["']\)|dawn\.node/g,
    ) ?? [];
  assert.equal(nodeRefs, [], 'no Node module, Dawn or sharp');
  assert.ok(/navigator/.test(js) && /conv2d_fwd/.test(js), 'the engine and its kernels are in the bundle');
  assert.ok(js.length < 400_000, `bundle is ${js.length} bytes`);
});

test.run();
