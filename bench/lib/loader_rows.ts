// The image input pipeline end to end, side by side in one run: a generated set of ImageNet-like
// JPEGs (about 500×375, quality 90, smooth colour fields with fine noise, 10 classes) through the
// training input path to uint8 batches on the device (BatchLoader with onDevice, the bytes uploaded):
//   - our ImageFolder decoded on the main thread's libuv pool (workers 0) and by 1 and 2 DecodePool workers;
//   - torchvision's ImageFolder + DataLoader with 1 and 2 workers and the same work: Resize(256),
//     RandomCrop(224), a flip, uint8 tensors (PILToTensor) — Debian's PyTorch, in the same run;
//   - the prepared format (`alexnet-wgsl prepare`) raw, and JPEG at quality 90 with 1 worker.
// Each row is one shuffled epoch of batch 64, timed from its first batch asked to its last on the
// device; the set is opened (listed) outside the timing, for torch too. The main thread's CPU time
// over the epoch (/proc, 10 ms ticks) is reported per 128 images: what input costs the thread that
// encodes the training step.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import type { Dataset } from '../../src/data/dataset.js';
import { BatchLoader } from '../../src/data/loader.js';
import type { Engine } from '../../src/gpu/engine.js';
import { openData, type OpenedData } from '../../src/node/data/source.js';
import { prepareDataset } from '../../src/node/data/prepare.js';
import { pixelStride } from '../../src/ops/augment_pixels.js';
import { BufferUsage } from '../../src/gpu/usage.js';
import { Rng } from '../../src/util/rng.js';
import { fmt, type Report, type Row } from './common.js';
import { cpuSample, mainThreadCpuMs, othersShare } from './gpu_timer.js';

const BATCH = 64,
  CLASSES = 10;

/** Every row this section can produce, in order. */
export const LOADER_ROWS = [
  'pipeline imagefolder main',
  'pipeline imagefolder w1',
  'pipeline imagefolder w2',
  'pipeline torch w1',
  'pipeline torch w2',
  'pipeline prepared raw',
  'pipeline prepared jpeg w1',
] as const;

/** The generated set under `dir` (made once, reused while its marker holds the same count). */
async function jpegSet(dir: string, images: number, log: (s: string) => void): Promise<string> {
  const root = join(dir, `jpegs-${images}`);
  if (existsSync(join(root, 'done'))) return root;
  rmSync(root, { recursive: true, force: true });
  log(`generating ${images} JPEGs in ${root}`);
  const r = new Rng(11);
  for (let i = 0; i < images; i++) {
    const w = 440 + r.int(121),
      h = 330 + r.int(91);
    const small = Buffer.from(Uint8Array.from({ length: 24 * 18 * 3 }, () => r.int(256)));
    const px = await sharp(small, { raw: { width: 24, height: 18, channels: 3 } })
      .resize(w, h, { kernel: 'cubic', fit: 'fill' })
      .raw()
      .toBuffer();
    for (let k = 0; k < px.length; k++) px[k] = Math.max(0, Math.min(255, px[k] + r.int(25) - 12));
    const cls = join(root, 'train', `c${i % CLASSES}`);
    mkdirSync(cls, { recursive: true });
    await sharp(px, { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 90 })
      .toFile(join(cls, `${i}.jpg`));
  }
  writeFileSync(join(root, 'done'), String(images));
  return root;
}

/**
 * One shuffled epoch of `ds` to uint8 batches on the device (the bytes the augmentation kernel reads;
 * the kernel itself is timed in the input rows): ms, and the main thread's busy ms.
 */
async function epochOnDevice(e: Engine, ds: Dataset): Promise<{ ms: number; mainMs: number }> {
  const loader = new BatchLoader(ds, {
    batchSize: BATCH,
    inputSize: 224,
    shuffle: true,
    augment: true,
    seed: 1,
    onDevice: true,
  });
  const bytes = BATCH * pixelStride(ds.height, ds.width, ds.channels);
  const buf = e.device.createBuffer({ size: bytes, usage: BufferUsage.STORAGE | BufferUsage.COPY_DST });
  try {
    const c0 = mainThreadCpuMs(),
      t0 = performance.now();
    for await (const b of loader.epoch(0)) e.writeBuffer(buf, 0, b.pixels!.batch.data);
    await e.sync();
    const ms = performance.now() - t0;
    return { ms, mainMs: mainThreadCpuMs() - c0 };
  } finally {
    buf.destroy();
  }
}

const TORCH_SCRIPT = `
import json, sys, time, torch, torchvision.transforms as T
from torchvision.datasets import ImageFolder
from torch.utils.data import DataLoader
root, workers = sys.argv[1], int(sys.argv[2])
tf = T.Compose([T.Resize(256), T.RandomCrop(224), T.RandomHorizontalFlip(), T.PILToTensor()])
ds = ImageFolder(root, transform=tf)
torch.manual_seed(1)
dl = DataLoader(ds, batch_size=${BATCH}, shuffle=True, num_workers=workers)
t0 = time.perf_counter(); n = 0
for x, y in dl:
    assert x.dtype == torch.uint8 and x.shape[1:] == (3, 224, 224)
    n += x.shape[0]
print(json.dumps({"ms": 1000 * (time.perf_counter() - t0), "images": n, "torch": torch.__version__}))
`;

function torchEpoch(root: string, workers: number): { ms: number; images: number; torch: string } | string {
  const r = spawnSync('/usr/bin/python3', ['-c', TORCH_SCRIPT, join(root, 'train'), String(workers)], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) return `torch did not run: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

export interface LoaderBenchOptions {
  images: number;
  dir: string;
  want: (test: string) => boolean;
  log: (s: string) => void;
}

export async function loaderRows(e: Engine, report: Report, o: LoaderBenchOptions): Promise<Row[]> {
  const names = LOADER_ROWS.filter(o.want);
  if (!names.length) return [];
  const root = await jpegSet(o.dir, o.images, o.log);
  const prepared = async (encoding: 'raw' | 'jpeg') => {
    const out = join(o.dir, `prepared-${o.images}-${encoding}`);
    const s = await prepareDataset(root, out, { encoding, quality: 90 });
    if (s.written.length) o.log(`prepared ${encoding}: ${s.decoded} images in ${s.seconds.toFixed(1)} s`);
    return out;
  };
  const ours: Record<string, () => Promise<{ spec: string; workers: number }>> = {
    'pipeline imagefolder main': async () => ({ spec: root, workers: 0 }),
    'pipeline imagefolder w1': async () => ({ spec: root, workers: 1 }),
    'pipeline imagefolder w2': async () => ({ spec: root, workers: 2 }),
    'pipeline prepared raw': async () => ({ spec: await prepared('raw'), workers: 0 }),
    'pipeline prepared jpeg w1': async () => ({ spec: await prepared('jpeg'), workers: 1 }),
  };
  const rows: Row[] = [];
  for (const test of names) {
    const c0 = cpuSample();
    let ms: number, note: string, extra: Record<string, unknown>;
    if (test.startsWith('pipeline torch')) {
      const workers = Number(test.slice(-1));
      const t = torchEpoch(root, workers);
      if (typeof t === 'string') {
        o.log(`${test}: ${t}`);
        continue;
      }
      ms = t.ms;
      note = `torchvision ImageFolder + DataLoader(num_workers=${workers}), PyTorch ${t.torch}`;
      extra = { workers, images: t.images };
    } else {
      const { spec, workers } = await ours[test]();
      let data: OpenedData | undefined;
      try {
        data = await openData(spec, { resample: 'bilinear', workers });
        const r = await epochOnDevice(e, data.train);
        ms = r.ms;
        const per128 = (128 * r.mainMs) / data.train.length;
        note = `main thread CPU ${fmt(per128)} ms per 128 images (${fmt((100 * r.mainMs) / r.ms)}% of the epoch)`;
        extra = { workers, main_ms_per_128: per128, main_share: r.mainMs / r.ms };
      } finally {
        await data?.close();
      }
    }
    rows.push(
      report.add({
        test,
        group: 'pipeline',
        ms: [ms],
        timing: 'wall',
        unit: 'img/s',
        work: o.images,
        othersCpu: othersShare(c0, cpuSample()),
        note,
        extra,
      }),
    );
  }
  return rows;
}
