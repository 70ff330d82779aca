// The ops' one chunking rule: a run of items (images, planes) is split into chunks whose tensors each
// fit one storage binding and start at an offset the device can bind. Tensors beyond one binding
// (lavapipe: 128 MiB) are then processed chunk by chunk with the same kernel.
import { LimitError } from '../errors.js';
import type { Engine } from './engine.js';

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Split `items` items into runs such that, for each per-item size in `perItem` (elements of one
 * tensor per item), a run fits one storage binding and starts at a multiple of the device's offset
 * alignment; `maxItems` caps a run further (dispatch size). Runs are balanced; one run when all fit.
 */
export function itemChunks(
  e: Engine,
  op: string,
  items: number,
  perItem: readonly number[],
  maxItems = Infinity,
): Array<{ start: number; count: number }> {
  let fit = maxItems;
  for (const per of perItem) {
    if (per > e.maxBindingElems)
      throw new LimitError(
        `${op}: one item of ${per} elements exceeds one storage binding (${e.maxBindingElems} elements)`,
      );
    fit = Math.min(fit, Math.floor(e.maxBindingElems / Math.max(1, per)));
  }
  if (fit >= items) return [{ start: 0, count: items }];
  const align = Math.max(1, e.limits.minStorageBufferOffsetAlignment / 4);
  let step = 1; // items per chunk must be a multiple of step so that every chunk starts aligned
  for (const per of perItem) {
    const s = align / gcd(align, per);
    step = (step * s) / gcd(step, s);
  }
  const most = Math.floor(fit / step) * step;
  if (most === 0)
    throw new LimitError(
      `${op}: no run of items fits one storage binding at offsets aligned to ${align * 4} bytes (item sizes ${perItem.join(', ')} elements)`,
    );
  const chunks = Math.ceil(items / most);
  const per = Math.min(most, Math.ceil(Math.ceil(items / chunks) / step) * step);
  const out = [];
  for (let start = 0; start < items; start += per) out.push({ start, count: Math.min(per, items - start) });
  return out;
}
