// The run's warnings, fed numbers (no timing decides them here): a loss stuck at ln(classes) for 200
// steps, and steps that wait for data more than a tenth of their time over 20 steps, each warned once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DataWaitWatch, StuckLossWatch } from '../src/train/watchdog.js';

test('a loss at ln(classes) for 200 steps is warned about once; a loss that moves resets the count', () => {
  const w = new StuckLossWatch(10);
  const ln10 = Math.log(10);
  for (let i = 0; i < 199; i++) assert.is(w.observe(ln10 * (1 + 0.01 * Math.sin(i))), undefined);
  assert.is(w.observe(1.5), undefined, 'a moved loss resets');
  for (let i = 0; i < 199; i++) assert.is(w.observe(ln10), undefined);
  assert.match(w.observe(ln10) ?? '', /loss has stayed at ln\(10\) = 2\.303 for 200 steps: the net is not learning/);
  for (let i = 0; i < 300; i++) assert.is(w.observe(ln10), undefined, 'once');
});

test('steps waiting for data over a tenth of their time (20 steps, after 5) are warned about once', () => {
  const w = new DataWaitWatch();
  // the first 5 steps do not count, however slow; then 20 steps at 9% pass
  for (let i = 0; i < 5; i++) assert.is(w.observe(900, 1000), undefined);
  for (let i = 0; i < 40; i++) assert.is(w.observe(9, 100), undefined, `9% at step ${i}`);
  // one slow step among fast ones is not enough: 19 × 9 + 30 = 201 of 2000 ms crosses 10% only when it lands
  let warning: string | undefined;
  for (let i = 0; i < 20 && !warning; i++) warning = w.observe(i === 19 ? 30 : 9, 100);
  assert.match(warning ?? '', /the last 20 steps waited for data 10% of their time \(10 of 100 ms a step\)/);
  for (let i = 0; i < 50; i++) assert.is(w.observe(90, 100), undefined, 'once');
});

test.run();
