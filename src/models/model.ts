// A network built from a layer table (spec.ts): parameters with PyTorch names and layouts
// (OIHW conv weights, [out, in] linear weights, fc6 flattened in C,H,W order), the forward pass
// recorded on the tape of the run in progress, shape inference, and loading/saving of weights.
import { ShapeError, fmtShape } from '../errors.js';
import type { Engine } from '../gpu/engine.js';
import { Rng, hashSeed } from '../util/rng.js';
import { parameter } from '../tensor/create.js';
import { fanIn, fillInit } from './init.js';
import { readParameters, writeParameters, type NamedValues } from './params.js';
import { conv2d } from '../ops/conv2d.js';
import { linear } from '../ops/linear.js';
import { dropout } from '../ops/dropout.js';
import { lrn } from '../ops/lrn.js';
import { tanh } from '../ops/activation.js';
import { maxPool2d, adaptiveAvgPool2d } from '../ops/pool.js';
import { flatten } from '../ops/shape.js';
import { numel, type Tensor } from '../tensor/tensor.js';
import { archOf, type Arch, type Layer } from './spec.js';
import { scope } from '../gpu/scope.js';
import { isRecording } from '../tape.js';

export interface ModelOptions {
  classes: number;
  /** Input channels and side (default: the arch's). */
  channels?: number;
  inputSize?: number;
  /** Dropout probability of the dropout layers (default 0.5, the paper's). */
  dropout?: number;
  /** Seed of the weight initialisation. */
  seed?: number;
}

export interface ForwardOptions {
  training: boolean;
  /** Dropout masks are a function of (seed, step, layer, element): reproducible, resumable. */
  seed?: number;
  step?: number;
  /** Stop after the layer with this feature name (e.g. 'fc7' for retrieval) and return its output. */
  until?: string;
}

interface Shape3 {
  c: number;
  h: number;
  w: number;
}

export class Model {
  readonly arch: Arch;
  readonly params: Tensor[] = [];
  readonly classes: number;
  readonly channels: number;
  readonly inputSize: number;
  dropoutP: number;
  /** Per layer: its parameters (weight, bias) or none. */
  private layerParams: Array<[Tensor, Tensor] | undefined> = [];
  /** Output shape after every layer (per sample), for messages and the layer table. */
  readonly shapes: Shape3[] = [];
  /** Per layer: a label for profiles (conv2, conv2.lrn, conv2.maxpool, …) and multiply-adds per sample. */
  readonly layerInfo: Array<{ label: string; kind: Layer['kind']; macs: number }> = [];

  /** `arch`: a built-in arch's name or any layer table. */
  constructor(
    readonly engine: Engine,
    arch: Arch | string,
    opts: ModelOptions,
  ) {
    this.arch = archOf(arch);
    this.classes = opts.classes;
    this.channels = opts.channels ?? this.arch.channels;
    this.inputSize = opts.inputSize ?? this.arch.inputSize;
    this.dropoutP = opts.dropout ?? 0.5;
    if (!(this.classes >= 2)) throw new ShapeError(`model: classes must be ≥ 2, got ${this.classes}`);
    const rng = new Rng(opts.seed ?? 0);
    let s: Shape3 = { c: this.channels, h: this.inputSize, w: this.inputSize };
    let last = 'input';
    for (const layer of this.arch.layers) {
      const before = s;
      s = this.outShape(layer, s);
      this.shapes.push(s);
      this.layerParams.push(this.makeParams(layer, rng));
      const named = layer.kind === 'conv' || layer.kind === 'linear';
      if (named) last = layer.name;
      const macs =
        layer.kind === 'conv'
          ? s.c * s.h * s.w * (before.c / layer.groups) * layer.kernel ** 2
          : layer.kind === 'linear'
            ? s.c * before.c * before.h * before.w
            : 0;
      this.layerInfo.push({ label: named ? last : `${last}.${layer.kind}`, kind: layer.kind, macs });
    }
  }

  private inFeatures = 0;

  private outShape(l: Layer, s: Shape3): Shape3 {
    const fail = (why: string) => {
      throw new ShapeError(
        `model ${this.arch.name}: input ${this.channels}×${this.inputSize}×${this.inputSize} is too small: ${why}`,
      );
    };
    switch (l.kind) {
      case 'conv': {
        if (s.c % l.groups || l.out % l.groups) fail(`${l.name}: ${s.c} channels do not split in ${l.groups} groups`);
        const h = Math.floor((s.h + 2 * l.pad - l.kernel) / l.stride) + 1,
          w = Math.floor((s.w + 2 * l.pad - l.kernel) / l.stride) + 1;
        if (h < 1 || w < 1) fail(`${l.name} gets ${s.h}×${s.w}`);
        this.inFeatures = s.c;
        return { c: l.out, h, w };
      }
      case 'maxpool': {
        const h = Math.floor((s.h - l.kernel) / l.stride) + 1,
          w = Math.floor((s.w - l.kernel) / l.stride) + 1;
        if (h < 1 || w < 1) fail(`max-pool gets ${s.h}×${s.w}`);
        return { c: s.c, h, w };
      }
      case 'adaptiveavgpool':
        return { c: s.c, h: l.size, w: l.size };
      case 'flatten':
        return { c: s.c * s.h * s.w, h: 1, w: 1 };
      case 'linear': {
        this.inFeatures = s.c * s.h * s.w;
        return { c: l.out === 'classes' ? this.classes : l.out, h: 1, w: 1 };
      }
      default:
        return s;
    }
  }

  private makeParams(l: Layer, rng: Rng): [Tensor, Tensor] | undefined {
    if (l.kind !== 'conv' && l.kind !== 'linear') return undefined;
    const out = l.kind === 'conv' ? l.out : l.out === 'classes' ? this.classes : l.out;
    const wShape = l.kind === 'conv' ? [out, this.inFeatures / l.groups, l.kernel, l.kernel] : [out, this.inFeatures];
    const fan = fanIn(wShape);
    const w = fillInit(new Float32Array(numel(wShape)), l.init, fan, rng);
    const b = new Float32Array(out);
    if (l.bias === 'init') fillInit(b, l.init, fan, rng);
    else b.fill(l.bias);
    const wt = parameter(this.engine, w, wShape, `${l.name}.weight`);
    const bt = parameter(this.engine, b, [out], `${l.name}.bias`);
    this.params.push(wt, bt);
    return [wt, bt];
  }

  /** Parameter count (60,965,224 for the paper's net at 1000 classes). */
  get parameterCount(): number {
    return this.params.reduce((n, p) => n + p.size, 0);
  }

  /** x [N, C, S, S] → logits [N, classes] (or the named feature with `until`); recorded inside a tape.run(). */
  forward(x: Tensor, opts: ForwardOptions): Tensor {
    const want = [-1, this.channels, this.inputSize, this.inputSize];
    if (x.shape.length !== 4 || x.shape[1] !== want[1] || x.shape[2] !== want[2] || x.shape[3] !== want[3]) {
      throw new ShapeError(
        `model ${this.arch.name}: input has shape ${fmtShape(x.shape)}, expected [N,${want.slice(1).join(',')}]`,
      );
    }
    // without a tape nothing else refers to an intermediate: it is freed once consumed
    const training = isRecording(this.engine);
    let h = x;
    for (let i = 0; i < this.arch.layers.length; i++) {
      const l = this.arch.layers[i];
      const prev = h;
      h = scope(this.layerInfo[i].label, () => this.layer(i, h, x, training, opts));
      if (!training && prev !== x && prev !== h) prev.dispose();
      if (l.kind === 'linear' && l.feature !== undefined && l.feature === opts.until) break;
    }
    return h;
  }

  /** Layer i on h (x: the model's input, which is never freed). */
  private layer(i: number, h: Tensor, x: Tensor, recording: boolean, opts: ForwardOptions): Tensor {
    const l = this.arch.layers[i],
      p = this.layerParams[i];
    switch (l.kind) {
      case 'conv':
        return conv2d(h, p![0], p![1], { stride: l.stride, padding: l.pad, groups: l.groups, relu: l.relu });
      case 'tanh':
        return tanh(h);
      case 'lrn':
        return lrn(h, { size: l.size, alpha: l.alpha, beta: l.beta, k: l.k });
      case 'maxpool':
        return maxPool2d(h, { kernel: l.kernel, stride: l.stride });
      case 'adaptiveavgpool':
        return adaptiveAvgPool2d(h, [l.size, l.size]);
      // inference hands the storage over instead of viewing it, so it is freed with the result
      case 'flatten':
        return recording || h === x ? flatten(h) : h.moveTo([h.shape[0], h.size / h.shape[0]]);
      case 'dropout':
        return dropout(h, this.dropoutP, {
          seed: hashSeed(opts.seed ?? 0, i),
          step: opts.step ?? 0,
          training: opts.training,
        });
      case 'linear':
        return linear(h, p![0], p![1], { relu: l.relu });
    }
  }

  /** Host copy of every parameter, by PyTorch name. */
  stateDict(): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
    return readParameters(this.params);
  }

  /** Load weights by name; every tensor must be present with the right shape (names listed otherwise). */
  load(weights: NamedValues, source = 'weights'): void {
    writeParameters(this.params, weights, source, `${this.arch.name} with ${this.classes} classes`);
  }

  dispose(): void {
    this.params.forEach((p) => p.dispose());
  }
}
