// The browser suite: the test files that need nothing of Node run in a page, against the same
// float64 references, on the page's navigator.gpu (test/helpers.ts's engine resolves to the core's
// createEngine in this bundle). uvu runs them as its CLI does in Node; the summary it prints is
// parsed into window.suite for the driver (test/browser.test.ts).
import { exec } from 'uvu';

const files: Array<[string, () => Promise<unknown>]> = [
  ['conv2d.test', () => import('../conv2d.test.js')],
  ['linear.test', () => import('../linear.test.js')],
  ['pool.test', () => import('../pool.test.js')],
  ['lrn.test', () => import('../lrn.test.js')],
  ['dropout.test', () => import('../dropout.test.js')],
  ['softmax.test', () => import('../softmax.test.js')],
  ['sgd.test', () => import('../sgd.test.js')],
  ['tiny_convnet.test', () => import('../tiny_convnet.test.js')],
  ['api.test', () => import('../api.test.js')],
  ['augment_pixels.test', () => import('../augment_pixels.test.js')],
];

interface Suite {
  done: boolean;
  total: number;
  passed: number;
  skipped: number;
  output: string;
}
// uvuOutput: what uvu printed, collected by the page (index.html) since before uvu loaded
const g = globalThis as unknown as { UVU_INDEX: number; UVU_QUEUE: unknown[][]; uvuOutput: string; suite: Suite };
g.suite = { done: false, total: 0, passed: 0, skipped: 0, output: '' };

(async () => {
  for (const [i, [name, load]] of files.entries()) {
    g.UVU_INDEX = i;
    g.UVU_QUEUE.push([name]);
    await load();
  }
  await exec();
  const output = g.uvuOutput;
  const count = (what: string) => Number(new RegExp(`${what}:\\s+(\\d+)`).exec(output)?.[1] ?? NaN);
  Object.assign(g.suite, {
    output,
    total: count('Total'),
    passed: count('Passed'),
    skipped: count('Skipped'),
    done: true,
  });
})().catch((e) => {
  g.suite.output = `${g.uvuOutput}\nsuite error: ${(e as Error).stack ?? e}`;
  g.suite.done = true;
});
