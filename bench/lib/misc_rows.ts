// The classifier head and the update: softmax cross-entropy forward (loss and the saved dlogits,
// kernels softmax_xent + col_sum) and backward (softmax_xent_bwd, with the tape's seed fill),
// and the paper's SGD step over every parameter of a model (one fused kernel per tensor, per
// chunk for fc6). Validated against test/ref/softmax.ts and a float64 update on sampled
// parameters, then timed as captured replays between timestamps.
// GB/s: xent fwd reads logits and labels and writes dlogits and the row losses (2·B·K·4 + 3·B·4
// bytes), xent bwd reads dlogits and writes dx (2·B·K·4), SGD reads g, w, v and writes w, v
// (5 × 4 bytes per parameter).
import type { Engine } from '../../src/gpu/engine.js';
import { Model } from '../../src/models/model.js';
import type { Arch, ArchName } from '../../src/models/spec.js';
import { SGD } from '../../src/optim.js';
import { softmaxCrossEntropy } from '../../src/ops/softmax.js';
import { Tape } from '../../src/tape.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { softmaxXentRef } from '../../test/ref/softmax.js';
import { capture, type GpuTimer, Replay } from './gpu_timer.js';
import { checkClose, fromTimes, random, upload, type Report, type Row } from './common.js';

export async function softmaxRows(
  e: Engine,
  timer: GpuTimer,
  report: Report,
  B: number,
  K: number,
  reps: number,
  want: (test: string) => boolean,
): Promise<Row[]> {
  const name = (dir: string) => `softmax-xent ${dir} b${B} k${K}`;
  const dirs = (['fwd', 'bwd'] as const).filter((d) => want(name(d)));
  if (!dirs.length) return [];
  const ls = random(B * K, 41, -8, 8);
  const labs = Int32Array.from({ length: B }, (_, i) => (i * 7919 + 3) % K);
  const logits = upload(e, ls, [B, K], 'logits'),
    labels = upload(e, labs, [B], 'labels');
  logits.requiresGrad = true;
  const rows: Row[] = [];
  try {
    // validation through the engine: loss and dL/dlogits
    {
      const tape = new Tape(e);
      const loss = tape.retain(tape.run(() => softmaxCrossEntropy(logits, labels)));
      tape.backward(loss);
      const ref = softmaxXentRef(ls, labs, B, K);
      checkClose(`${name('fwd')} loss`, await loss.read(), [ref.loss], 1e-5);
      checkClose(`${name('bwd')} dlogits`, await logits.grad!.read(), ref.dlogits, 1e-6);
      tape.dispose();
      logits.grad!.dispose();
      logits.grad = undefined;
    }
    for (const dir of dirs) {
      let cap: ReturnType<typeof capture>;
      const tape = new Tape(e);
      if (dir === 'fwd') {
        cap = capture(e, () => tape.run(() => softmaxCrossEntropy(logits, labels)));
      } else {
        const loss = tape.run(() => softmaxCrossEntropy(logits, labels));
        e.flush();
        cap = capture(e, () => tape.backward(loss));
      }
      const rep = new Replay(e, cap.dispatches);
      const t = await timer.time(rep, reps, 1);
      rep.dispose();
      tape.dispose();
      (logits.grad as Tensor | undefined)?.dispose();
      logits.grad = undefined;
      rows.push(
        report.add(
          fromTimes(t, {
            test: name(dir),
            group: 'softmax',
            unit: 'GB/s',
            work: dir === 'fwd' ? 2 * B * K * 4 + 3 * B * 4 : 2 * B * K * 4,
            roof: 'copy',
            note: `${cap.dispatches.length} dispatches; checked vs test/ref/softmax`,
            extra: { batch: B, classes: K, direction: dir },
          }),
        ),
      );
    }
  } finally {
    logits.dispose();
    labels.dispose();
  }
  return rows;
}

/** One SGD step over all parameters of `arch` (classes as in the e2e runs). */
export async function sgdRow(
  e: Engine,
  timer: GpuTimer,
  report: Report,
  arch: ArchName | Arch,
  classes: number,
  reps: number,
  tol = 1e-6,
): Promise<Row> {
  const model = new Model(e, arch, { classes, seed: 5 });
  const opt = new SGD(model.params, { momentum: 0.9, weightDecay: 0.0005 });
  const archName = typeof arch === 'string' ? arch : arch.name;
  try {
    const grads = model.params.map((p, i) => random(p.size, 50 + i));
    model.params.forEach((p, i) => {
      p.grad = upload(e, grads[i], p.shape, `${p.name}.grad`);
    });
    // validation: first, last and largest parameter tensors (fc6's weight goes in chunks)
    const largest = model.params.reduce((a, p) => (p.size > a.size ? p : a));
    const check = [...new Set([model.params[0], largest, model.params[model.params.length - 1]])];
    const before = await Promise.all(check.map((p) => p.read() as Promise<Float32Array>));
    opt.step(0.01);
    for (const [k, p] of check.entries()) {
      const g = grads[model.params.indexOf(p)],
        w0 = before[k];
      const [w1, v1] = [
        (await p.read()) as Float32Array,
        (await opt.velocities[model.params.indexOf(p)].read()) as Float32Array,
      ];
      const idx = Array.from({ length: 256 }, (_, s) =>
        Math.floor((((s * 2654435761) % 4294967296) / 4294967296) * p.size),
      );
      const vRef = idx.map((i) => -0.0005 * 0.01 * w0[i] - 0.01 * g[i]);
      checkClose(
        `sgd ${archName} ${p.name} v`,
        idx.map((i) => v1[i]),
        vRef,
        tol,
      );
      checkClose(
        `sgd ${archName} ${p.name} w`,
        idx.map((i) => w1[i]),
        idx.map((i, s) => w0[i] + vRef[s]),
        tol,
      );
    }
    const cap = capture(e, () => opt.step(0.01));
    const rep = new Replay(e, cap.dispatches);
    const t = await timer.time(rep, reps, 1);
    rep.dispose();
    const n = model.parameterCount;
    return report.add(
      fromTimes(t, {
        test: `sgd ${archName}`,
        group: 'sgd',
        unit: 'GB/s',
        work: 5 * 4 * n,
        roof: 'copy',
        note: `${n.toLocaleString('en')} parameters in ${model.params.length} tensors, ${cap.dispatches.length} dispatches; checked on sampled elements`,
        extra: { parameters: n },
      }),
    );
  } finally {
    opt.dispose();
    model.dispose();
  }
}
