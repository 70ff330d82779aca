// Classification of one 28×28 image by a model: the checkpoint's preprocessing, a forward pass in
// an evaluation scope (nothing recorded, intermediates freed), softmax, and the top-5 as bars.
import { pixelsToInput, softmax, tensor, tidy, topk, type Model, type ModelMeta } from 'alexnet-wgsl';

export interface Prediction {
  label: number;
  name: string;
  p: number;
}

export async function classify(model: Model, meta: ModelMeta, pixels: Uint8Array): Promise<Prediction[]> {
  const e = model.engine,
    s = meta.inputSize;
  const probs = tidy(e, () =>
    softmax(
      model.forward(tensor(e, pixelsToInput(pixels, meta.channels, meta), [1, meta.channels, s, s]), {
        training: false,
      }),
    ),
  );
  const p = await probs.readF32();
  probs.dispose();
  return Array.from(topk(p, meta.classes, Math.min(5, meta.classes)), (label) => ({
    label,
    name: meta.classNames?.[label] ?? `class ${label}`,
    p: p[label],
  }));
}

/** The top-5 as a list of bars; the list carries the top-1 class for whoever reads the page. */
export function showPredictions(list: HTMLElement, top: Prediction[]): void {
  list.replaceChildren(
    ...top.map((t) => {
      const li = document.createElement('li');
      li.textContent = `${t.name} — ${(100 * t.p).toFixed(1)}%`;
      const bar = document.createElement('div');
      bar.className = 'bar';
      bar.style.width = `${Math.max(1, 100 * t.p)}%`;
      li.append(bar);
      return li;
    }),
  );
  list.dataset.top1 = top[0].name;
}
