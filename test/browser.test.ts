// In a real browser: Debian's Chromium, headless, whose WebGPU (--enable-unsafe-webgpu) is
// SwiftShader, driven by playwright-core. The kernel tests of the browser suite (test/browser/)
// run in a page against the float64 references; the demo page loads its checkpoint, classifies a
// known test image, trains `mini` for a few steps with the loss going down, draws conv1's kernels,
// and is saved as a screenshot (build/browser/demo.png). The pages come from build/ (npm test's
// pretest builds them) through the demo's own server, scripts/serve.mjs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
// uvu's colours dropped, and its summary lines, which would read as this process's own
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').replace(/^\s*(Total|Passed|Skipped|Duration):.*$/gm, '');

let server: ChildProcess | undefined,
  browser: Browser | undefined,
  base = '';

test.before(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `the browser tests need Chromium at ${CHROMIUM}: apt-get install chromium (scripts/setup-system.sh --test does)`,
    );
  for (const page of ['build/browser-test/index.html', 'build/demo/index.html']) {
    if (!existsSync(page))
      throw new Error(
        `${page} is missing: npm test builds it (node scripts/build.mjs dist && node scripts/build.mjs demo && node scripts/build.mjs test)`,
      );
  }
  server = spawn(process.execPath, ['scripts/serve.mjs', 'build', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  base = await new Promise<string>((resolve, reject) => {
    server!.stdout!.on('data', (b: Buffer) => {
      const m = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(String(b));
      if (m) resolve(m[1]);
    });
    server!.on('exit', (code) => reject(new Error(`scripts/serve.mjs exited with ${code}`)));
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});

test.after(async () => {
  await browser?.close();
  server?.kill();
});

/** A page whose uncaught errors are kept (and its console, for a failure's message). */
async function open(url: string): Promise<{ page: Page; errors: string[]; console: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [],
    console: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => console.push(m.text()));
  await page.goto(url);
  return { page, errors, console };
}

test('the kernel tests pass in Chromium on its WebGPU adapter (SwiftShader)', async () => {
  const { page, errors } = await open(`${base}browser-test/`);
  const adapter = await page.evaluate(async () => {
    const a = await (navigator as Navigator & { gpu?: GPU }).gpu?.requestAdapter();
    return a ? `${a.info.vendor} ${a.info.architecture}` : 'none';
  });
  assert.not.equal(adapter, 'none', 'Chromium gives a WebGPU adapter');
  await page.waitForFunction(() => (globalThis as { suite?: { done: boolean } }).suite?.done, null, {
    timeout: 600_000,
    polling: 500,
  });
  const s = await page.evaluate(
    () =>
      (globalThis as unknown as { suite: { total: number; passed: number; skipped: number; output: string } }).suite,
  );
  await page.close();
  const summary = `${s.passed} of ${s.total} passed, ${s.skipped} skipped in the page (adapter: ${adapter})`;
  assert.ok(
    s.total >= 50 && s.passed === s.total && s.skipped === 0 && errors.length === 0,
    `${summary}\n${errors.join('\n')}\n${plain(s.output).slice(-6000)}`,
  );
  console.log(`  ${summary}`);
});

test('the demo page: checkpoint loaded, a known test image classified, training lowers the loss, kernels drawn', async () => {
  const { page, errors, console: logs } = await open(`${base}demo/`);
  const ready = () =>
    page.waitForFunction(() => document.body.dataset.ready || document.body.dataset.error, null, { timeout: 300_000 });
  await ready();
  const error = await page.evaluate(() => document.body.dataset.error);
  assert.is(error, undefined, `the page failed: ${error}\n${logs.join('\n')}`);
  const status = await page.textContent('#status');
  const acc = Number(/top-1 ([\d.]+)% on 500 test images/.exec(status ?? '')?.[1]);
  assert.ok(/checkpoint: mini, 192,922 parameters/.test(status ?? '') && acc > 80, `status: ${status}`);
  // the first test image is an ankle boot (Fashion-MNIST's t10k image 0)
  const sample = page.locator('#samples canvas[data-index="0"]');
  assert.is(await sample.getAttribute('data-label'), 'Ankle boot');
  await sample.click();
  await page.waitForFunction(() => document.getElementById('predictions')!.dataset.top1, null, { timeout: 60_000 });
  assert.is(await page.getAttribute('#predictions', 'data-top1'), 'Ankle boot');
  assert.is(await page.locator('#predictions li').count(), 5, 'top-5 bars');
  // the same image as a dropped PNG file, white on black and inverted (dark on light, as photos are)
  for (const invert of [false, true]) {
    await page.click('#clear');
    await page.evaluate(async (inv) => {
      const src = document.querySelector('#samples canvas[data-index="0"]') as HTMLCanvasElement;
      const c = document.createElement('canvas');
      c.width = c.height = 56;
      const ctx = c.getContext('2d')!;
      if (inv) ctx.filter = 'invert(1)';
      ctx.drawImage(src, 0, 0, 56, 56);
      const blob = await new Promise<Blob>((r) => c.toBlob((b) => r(b!), 'image/png'));
      const dt = new DataTransfer();
      dt.items.add(new File([blob], 'boot.png', { type: 'image/png' }));
      document.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, invert);
    await page.waitForFunction(() => document.getElementById('predictions')!.dataset.top1, null, { timeout: 60_000 });
    assert.is(
      await page.getAttribute('#predictions', 'data-top1'),
      'Ankle boot',
      `dropped file${invert ? ', inverted' : ''}`,
    );
  }
  // a drawing: a stroke on the pad is classified as something
  await page.click('#clear');
  const pad = (await page.locator('#pad').boundingBox())!;
  await page.mouse.move(pad.x + 80, pad.y + 60);
  await page.mouse.down();
  for (const [dx, dy] of [
    [120, 60],
    [120, 220],
    [80, 220],
    [80, 60],
  ])
    await page.mouse.move(pad.x + dx, pad.y + dy, { steps: 8 });
  await page.mouse.up();
  await page.waitForFunction(() => document.getElementById('predictions')!.dataset.top1, null, { timeout: 60_000 });
  assert.is(await page.locator('#predictions li').count(), 5, 'a drawing gets its top-5');
  const grid = await page.evaluate(() => {
    const c = document.getElementById('kernel-grid') as HTMLCanvasElement;
    return [c.width, c.height];
  });
  assert.ok(grid[0] > 300 && grid[1] > 150, `conv1 kernels drawn (${grid})`);
  // a few steps of training in the page
  await page.fill('#steps', '16');
  await page.click('#start');
  await page.waitForFunction(
    () => document.getElementById('train')!.dataset.done || document.body.dataset.error,
    null,
    { timeout: 600_000, polling: 500 },
  );
  const run = await page.evaluate(() => {
    const d = document.getElementById('train')!.dataset;
    return { losses: d.losses, ips: d.ips, accuracy: d.accuracy, error: document.body.dataset.error };
  });
  assert.is(run.error, undefined, `training failed: ${run.error}`);
  const losses: number[] = JSON.parse(run.losses!);
  const tail = losses.slice(-4).reduce((a, b) => a + b, 0) / 4;
  assert.is(losses.length, 16);
  assert.ok(
    losses.every(Number.isFinite) && tail < losses[0] - 0.05,
    `the loss goes down: ${losses.map((l) => l.toFixed(3)).join(' ')}`,
  );
  assert.ok(Number(run.ips) > 0 && Number(run.accuracy) > 0.1, `images/s ${run.ips}, test accuracy ${run.accuracy}`);
  assert.ok(await page.isVisible('#kernel-grid-run'), "the training net's kernels are drawn beside the checkpoint's");
  await page.click('#clear'); // the page as the README shows it: the ankle boot classified
  await sample.click();
  await page.waitForFunction(() => document.getElementById('predictions')!.dataset.top1 === 'Ankle boot', null, {
    timeout: 60_000,
  });
  mkdirSync('build/browser', { recursive: true });
  await page.screenshot({ path: 'build/browser/demo.png', fullPage: true });
  await page.close();
  assert.equal(errors, []);
  console.log(
    `  demo: checkpoint top-1 ${acc}% on 500 images; ${losses.length} steps at ${Number(run.ips).toFixed(1)} img/s, loss ${losses[0].toFixed(3)} → ${tail.toFixed(3)}; screenshot build/browser/demo.png`,
  );
});

test.run();
