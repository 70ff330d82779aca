// Builds the package (dist/), the tests (build/test) and the benches (build/bench) with esbuild.
// WGSL kernels are bundled as text; npm packages stay external.
import { build } from 'esbuild';
import { readdirSync, existsSync } from 'node:fs';

const common = {
  bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external',
  loader: { '.wgsl': 'text' }, sourcemap: 'linked', logLevel: 'warning',
};
const list = (dir, suffix) => existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(suffix)).map((f) => `${dir}/${f}`) : [];
const only = process.argv[2];

if (!only || only === 'dist') {
  await build({ ...common, entryPoints: { index: 'src/index.ts', cli: 'src/cli/main.ts' }, outdir: 'dist' });
}
if (!only || only === 'test') {
  await build({ ...common, entryPoints: list('test', '.test.ts'), outdir: 'build/test' });
}
if (!only || only === 'bench') {
  await build({ ...common, entryPoints: list('bench', '.bench.ts').concat(list('bench', 'main.ts')), outdir: 'build/bench' });
}
