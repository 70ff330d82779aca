// The demo's assets, fetched from the page's own folder: the trained checkpoint and the
// Fashion-MNIST subsets (gzipped IDX, unpacked with the browser's DecompressionStream).
import { ArrayDataset, loadModel, parseIdx, type Engine, type Model, type ModelMeta } from 'alexnet-wgsl';

async function fetchBytes(url: string, gzip = false): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok || !r.body) throw new Error(`${url}: HTTP ${r.status}`);
  const body = gzip ? r.body.pipeThrough(new DecompressionStream('gzip')) : r.body;
  return new Uint8Array(await new Response(body).arrayBuffer());
}

/** A Fashion-MNIST subset: images N×28×28 (one channel) and labels, as a dataset. */
export async function loadSubset(split: 'train' | 't10k', n: number, classNames: string[]): Promise<ArrayDataset> {
  const images = parseIdx(await fetchBytes(`assets/${split}-images-${n}.idx.gz`, true), `${split} images`);
  const labels = parseIdx(await fetchBytes(`assets/${split}-labels-${n}.idx.gz`, true), `${split} labels`);
  const [count, h, w] = images.dims;
  return new ArrayDataset({
    name: `fashion-mnist ${split}[:${count}]`,
    images: images.data,
    shape: [count, 1, h, w],
    labels: Int32Array.from(labels.data),
    classes: classNames.length,
    classNames,
  });
}

/** The checkpoint the default job (`npm start`) trains: mini on Fashion-MNIST, 2 epochs. */
export async function loadTrained(engine: Engine): Promise<{ model: Model; meta: ModelMeta }> {
  return loadModel(engine, await fetchBytes('assets/mini-fashion-mnist.safetensors'), 'mini-fashion-mnist.safetensors');
}
