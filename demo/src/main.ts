// The demo page: the engine on navigator.gpu, the trained checkpoint classifying the pad, a strip
// of test images, in-page training, and conv1's kernels. State the page reaches is mirrored in
// data- attributes (ready, top1, losses), which the browser tests read.
import { createEngine, evaluate, type Dataset, type Engine, type Model, type ModelMeta } from 'alexnet-wgsl';
import { classify, showPredictions } from './classify.js';
import { loadSubset, loadTrained } from './data.js';
import { showKernels } from './kernels.js';
import { Pad, grayCanvas } from './pad.js';
import { trainInPage } from './train.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('status');

function fail(e: unknown): void {
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  status.textContent = msg;
  status.className = 'error';
  document.body.dataset.error = msg;
}
window.addEventListener('error', (ev) => fail(ev.error ?? ev.message));
window.addEventListener('unhandledrejection', (ev) => fail(ev.reason));

async function main(): Promise<void> {
  let engine: Engine;
  try {
    engine = await createEngine();
  } catch (e) {
    throw new Error(
      `${(e as Error).message}. This page needs WebGPU: a recent Chrome or Edge (or Chromium with --enable-unsafe-webgpu), served from localhost or https.`,
    );
  }
  const a = engine.info().adapter;
  status.textContent = `WebGPU adapter: ${[a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'unnamed'} — loading…`;
  const { model, meta } = await loadTrained(engine);
  const names = meta.classNames ?? [];
  const [train, test] = await Promise.all([loadSubset('train', 2048, names), loadSubset('t10k', 500, names)]);
  const acc = await evaluate(model, test, {
    batchSize: 100,
    mean: Float32Array.from(meta.mean),
    scale: meta.pixelScale,
    std: meta.std,
    tenCrop: false,
  });
  status.textContent =
    `WebGPU adapter: ${[a.vendor, a.architecture].filter(Boolean).join(' ') || 'unnamed'} · checkpoint: ${meta.arch}, ` +
    `${model.parameterCount.toLocaleString('en')} parameters, top-1 ${(100 - 100 * acc.top1Error).toFixed(1)}% on ${acc.samples} test images`;
  setUpClassifier(model, meta, test.getPixels!.bind(test), test.labels);
  await showKernels($('kernel-grid'), model);
  setUpTraining(engine, train, test);
  document.body.dataset.ready = '1';
}

function setUpClassifier(model: Model, meta: ModelMeta, pixelsOf: (i: number) => Uint8Array, labels: Int32Array): void {
  const list = $('predictions');
  let pending = Promise.resolve();
  const pad = new Pad($<HTMLCanvasElement>('pad'), () => {
    pending = pending
      .then(async () => showPredictions(list, await classify(model, meta, pad.pixels(meta.inputSize))))
      .catch(fail);
  });
  $('clear').addEventListener('click', () => {
    pad.clear();
    list.replaceChildren();
    delete list.dataset.top1;
  });
  // the first test image of each class
  const strip = $('samples');
  for (let cls = 0; cls < meta.classes; cls++) {
    const i = labels.indexOf(cls);
    if (i < 0) continue;
    const thumb = grayCanvas(pixelsOf(i), meta.inputSize);
    thumb.className = 'sample';
    thumb.title = `test image ${i}: ${meta.classNames?.[cls] ?? cls}`;
    thumb.dataset.index = String(i);
    thumb.dataset.label = meta.classNames?.[cls] ?? String(cls);
    thumb.addEventListener('click', () => pad.showPixels(pixelsOf(i), meta.inputSize));
    strip.append(thumb);
  }
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    document.body.classList.remove('dragging');
    const file = e.dataTransfer?.files[0];
    if (file) pad.showFile(file).catch(fail);
  });
}

function setUpTraining(engine: Engine, train: Dataset, test: Dataset): void {
  const start = $<HTMLButtonElement>('start'),
    stopButton = $<HTMLButtonElement>('stop'),
    section = $('train');
  let stop = false;
  stopButton.addEventListener('click', () => {
    stop = true;
  });
  start.addEventListener('click', async () => {
    start.disabled = true;
    stopButton.disabled = false;
    stop = false;
    delete section.dataset.done;
    const steps = Math.max(1, Math.min(2000, Number(($('steps') as HTMLInputElement).value) || 200));
    $('run-kernels').hidden = false;
    try {
      const run = await trainInPage(
        engine,
        train,
        test,
        steps,
        {
          curve: $('curve'),
          status: $('train-status'),
          onKernels: async (m, step) => {
            await showKernels($('kernel-grid-run'), m);
            $('run-kernels-caption').textContent = `training in this page, step ${step}`;
          },
        },
        () => stop,
      );
      Object.assign(section.dataset, {
        losses: JSON.stringify(run.losses),
        ips: String(run.imagesPerSecond),
        accuracy: String(run.testAccuracy),
        done: '1',
      });
    } catch (e) {
      fail(e);
    } finally {
      start.disabled = false;
      stopButton.disabled = true;
    }
  });
}

main().catch(fail);
