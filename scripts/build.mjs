// Builds with esbuild, WGSL kernels bundled as text and npm packages left external:
//   dist    the package: the core (index.js), Node's flavour of it (index.node.js), the Node-only
//           entry (node.js) and the CLI, sharing chunks; no source maps (tests build their own)
//   browser dist/browser/alexnet-wgsl.js, the core as one ES module for a <script type="module">
//   test    build/test, bench build/bench (with source maps)
import { build } from 'esbuild';
import { readdirSync, existsSync, rmSync } from 'node:fs';

const common = {
  bundle: true, format: 'esm', target: 'es2022', loader: { '.wgsl': 'text' }, logLevel: 'warning',
};
const list = (dir, suffix) => existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(suffix)).map((f) => `${dir}/${f}`) : [];
const only = process.argv[2];
const node = { ...common, platform: 'node', packages: 'external' };

if (!only || only === 'dist') {
  rmSync('dist', { recursive: true, force: true });
  await build({
    ...node, splitting: true, outdir: 'dist', chunkNames: 'chunks/[name]-[hash]',
    entryPoints: { index: 'src/index.ts', 'index.node': 'src/node/main.ts', node: 'src/node/index.ts', cli: 'src/cli/main.ts' },
  });
  await build({ ...common, platform: 'browser', entryPoints: { 'alexnet-wgsl': 'src/index.ts' }, outdir: 'dist/browser', minify: true, legalComments: 'none' });
}
if (!only || only === 'test') {
  // shared chunks: one copy of the package per process, as a program that imports it has
  rmSync('build/test', { recursive: true, force: true });
  await build({ ...node, sourcemap: 'linked', splitting: true, chunkNames: 'chunks/[name]-[hash]', entryPoints: list('test', '.test.ts'), outdir: 'build/test' });
}
if (!only || only === 'bench') {
  await build({ ...node, sourcemap: 'linked', entryPoints: list('bench', '.bench.ts').concat(list('bench', 'main.ts')), outdir: 'build/bench' });
}
