// Builds with esbuild, WGSL kernels bundled as text and npm packages left external:
//   dist    the package: the core (index.js), Node's flavour of it (index.node.js), the Node-only
//           entry (node.js) and the CLI, sharing chunks; no source maps (tests build their own)
//   browser dist/browser/alexnet-wgsl.js, the core as one ES module for a <script type="module">
//   demo    build/demo: the demo page (demo/), its code bundled with the package left to the page's
//           import map, beside dist/browser's build and the assets (needs dist built first)
//   test    build/test, and build/browser-test (the browser suite's page, test/browser/), bench
//           build/bench (with source maps)
import { build } from 'esbuild';
import { cpSync, readdirSync, existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';

const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  loader: { '.wgsl': 'text' },
  logLevel: 'warning',
};
const list = (dir, suffix) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(suffix))
        .map((f) => `${dir}/${f}`)
    : [];
const only = process.argv[2];
// 'worker:./file.ts' imports that file bundled alone as ES module text (a worker thread's code, started
// from a data: URL); inside it, ../sharp.js becomes sharp_by_url.ts, which imports sharp by file URL
const workerSource = {
  name: 'worker-source',
  setup(b) {
    b.onResolve({ filter: /^worker:/ }, (a) => ({
      path: resolve(a.resolveDir, a.path.slice('worker:'.length)),
      namespace: 'worker-source',
    }));
    b.onLoad({ filter: /.*/, namespace: 'worker-source' }, async (a) => {
      const sharpByUrl = {
        name: 'sharp-by-url',
        setup: (w) =>
          w.onResolve({ filter: /\/sharp\.js$/ }, () => ({ path: resolve('src/node/data/sharp_by_url.ts') })),
      };
      const r = await build({
        ...common,
        platform: 'node',
        entryPoints: [a.path],
        write: false,
        minify: true,
        legalComments: 'none',
        plugins: [sharpByUrl],
      });
      return { contents: r.outputFiles[0].text, loader: 'text' };
    });
  },
};
const node = { ...common, platform: 'node', packages: 'external', plugins: [workerSource] };

if (!only || only === 'dist') {
  rmSync('dist', { recursive: true, force: true });
  await build({
    ...node,
    splitting: true,
    outdir: 'dist',
    chunkNames: 'chunks/[name]-[hash]',
    entryPoints: {
      index: 'src/index.ts',
      'index.node': 'src/node/main.ts',
      node: 'src/node/index.ts',
      cli: 'src/cli/bin.ts',
    },
  });
  await build({
    ...common,
    platform: 'browser',
    entryPoints: { 'alexnet-wgsl': 'src/index.ts' },
    outdir: 'dist/browser',
    minify: true,
    legalComments: 'none',
  });
}
if (!only || only === 'demo') {
  rmSync('build/demo', { recursive: true, force: true });
  await build({
    ...common,
    platform: 'browser',
    entryPoints: { demo: 'demo/src/main.ts' },
    outdir: 'build/demo',
    external: ['alexnet-wgsl'],
  });
  for (const f of ['index.html', 'style.css', 'assets']) cpSync(`demo/${f}`, `build/demo/${f}`, { recursive: true });
  cpSync('dist/browser/alexnet-wgsl.js', 'build/demo/alexnet-wgsl.js');
}
if (!only || only === 'test') {
  // shared chunks: one copy of the package per process, as a program that imports it has
  rmSync('build/test', { recursive: true, force: true });
  await build({
    ...node,
    sourcemap: 'linked',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    entryPoints: [
      ...list('test', '.test.ts'),
      'test/fixtures/cli_child.ts',
      'test/fixtures/dispose_exit.ts',
      'test/fixtures/decode_pool_exit.ts',
    ],
    outdir: 'build/test',
  });
  // in the page, the tests' engine is the core's (navigator.gpu), not Node's Dawn
  const coreEngine = {
    name: 'core-engine',
    setup: (b) => b.onResolve({ filter: /\/node\/dawn\.js$/ }, () => ({ path: resolve('src/gpu/engine.ts') })),
  };
  rmSync('build/browser-test', { recursive: true, force: true });
  await build({
    ...common,
    platform: 'browser',
    splitting: true,
    sourcemap: 'linked',
    entryPoints: { suite: 'test/browser/suite.ts' },
    outdir: 'build/browser-test',
    chunkNames: 'chunks/[name]-[hash]',
    plugins: [coreEngine],
  });
  cpSync('test/browser/index.html', 'build/browser-test/index.html');
}
if (!only || only === 'bench') {
  await build({
    ...node,
    sourcemap: 'linked',
    entryPoints: ['bench/main.ts'],
    outdir: 'build/bench',
  });
  // the GPU profile's script and PyTorch's same step travel with the build (shared/gpu/pack.sh packs build/bench)
  cpSync('bench/torch', 'build/bench/torch', { recursive: true });
  cpSync('bench/gpu.sh', 'build/bench/gpu.sh');
}
