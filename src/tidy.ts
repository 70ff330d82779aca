// An evaluation scope: inside tidy(engine, fn) ops record on no tape, and every tensor created is
// disposed when fn returns, except the ones it returns (TensorFlow.js's tidy and PyTorch's no_grad
// in one). It is how a program runs its own net for inference without freeing intermediates by hand.
import { AlexnetError } from './errors.js';
import type { Disposable, Engine } from './gpu/engine.js';
import { Tensor } from './tensor/tensor.js';
import { withoutTape } from './tape.js';

/** Tensors in a result: a tensor, or arrays and plain objects of them (nested). */
function collect(v: unknown, out: Set<Disposable>, depth = 0): void {
  if (v instanceof Tensor) {
    out.add(v);
    out.add(v.root);
    return;
  }
  if (depth > 8 || v === null || typeof v !== 'object') return;
  for (const x of Array.isArray(v) ? v : Object.values(v)) collect(x, out, depth + 1);
}

/**
 * Run `fn` without a tape and dispose every tensor it created but does not return. `fn` must be
 * synchronous (ops encode synchronously; read results after tidy returns): a Promise is refused,
 * since tensors created after an await could not be told apart from the caller's.
 */
export function tidy<T>(engine: Engine, fn: () => T): T {
  engine.openScope();
  let result: T | undefined,
    ok = false;
  try {
    result = withoutTape(fn);
    if (result instanceof Promise || typeof (result as { then?: unknown })?.then === 'function') {
      throw new AlexnetError(
        'tidy: fn returned a Promise; pass a synchronous function and read the returned tensors after tidy returns',
      );
    }
    ok = true;
    return result;
  } finally {
    const created = engine.closeScope();
    const keep = new Set<Disposable>();
    if (ok) collect(result, keep);
    for (const t of created) {
      if (keep.has(t))
        engine.track(t); // kept: it belongs to the enclosing scope, if any
      else t.dispose();
    }
  }
}
