// Network descriptions as data: a layer table per architecture (paper, torchvision, mini, or one of
// the caller's own). The Model class (model.ts) turns a table into parameters and a forward pass;
// checkpoints use each layer's PyTorch name. Facts about an arch are derived from its table here.
import { ShapeError } from '../errors.js';

export type Init =
  | { kind: 'normal'; std: number } // the paper: N(0, 0.01)
  | { kind: 'kaiming' } // He normal, std = sqrt(2 / fan_in)
  | { kind: 'torch' } // PyTorch's default: U(±1/sqrt(fan_in)) for weight and bias
  | { kind: 'zeros' };

export type Layer =
  | {
      kind: 'conv';
      name: string;
      out: number;
      kernel: number;
      stride: number;
      pad: number;
      groups: number;
      relu: boolean;
      init: Init;
      bias: number | 'init';
    }
  | { kind: 'lrn'; size: number; alpha: number; beta: number; k: number }
  // after a conv or linear with relu false: the saturating unit the paper's figure 1 compares ReLU with
  | { kind: 'tanh' }
  | { kind: 'maxpool'; kernel: number; stride: number }
  | { kind: 'adaptiveavgpool'; size: number }
  | { kind: 'flatten' }
  | { kind: 'dropout' }
  | {
      kind: 'linear';
      name: string;
      out: number | 'classes';
      relu: boolean;
      init: Init;
      bias: number | 'init';
      feature?: string;
    };

/**
 * How image files are resized: 'lanczos3', sharp's default kernel (with JPEG shrink-on-load), or
 * 'bilinear', sharp's linear kernel without shrink-on-load, within 1–2 levels (0.2–0.3 on average)
 * of PIL's antialiased bilinear, which torchvision's Resize uses on PIL images.
 */
export type Resample = 'lanczos3' | 'bilinear';

export interface Arch {
  /** Recorded in checkpoints; the built-in tables are found again by it (archs). */
  name: string;
  /** Channels, and the input side the table is designed for. */
  channels: number;
  inputSize: number;
  layers: Layer[];
  /**
   * How uint8 pixels become inputs: (x·pixelScale − mean[c]) / std[c]. Without `fixedNorm` the mean is
   * the training set's (×pixelScale) and std is 1 (the paper's mean subtraction).
   */
  pixelScale: number;
  /** Fixed per-channel mean and std on the pixelScale scale instead (torchvision's ImageNet normalisation). */
  fixedNorm?: { mean: readonly number[]; std: readonly number[] };
  /** Resampling when image files are resized (default lanczos3; bilinear is the closest to torchvision's PIL Resize). */
  resample?: Resample;
}

/** torchvision's ImageNet statistics on the [0, 1] scale (transforms.Normalize of its pretrained models). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/**
 * An arch's fixed mean and std for `channels` input channels, or undefined when it uses the training
 * set's mean. A channel count other than the constants' (a grayscale net) gets their averages.
 */
export function fixedNormalization(arch: Arch, channels: number): { mean: number[]; std: number[] } | undefined {
  const f = arch.fixedNorm;
  if (!f) return undefined;
  if (f.mean.length === channels) return { mean: [...f.mean], std: [...f.std] };
  const avg = (a: readonly number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  return { mean: new Array(channels).fill(avg(f.mean)), std: new Array(channels).fill(avg(f.std)) };
}

const conv = (
  name: string,
  out: number,
  kernel: number,
  stride: number,
  pad: number,
  groups: number,
  init: Init,
  bias: number | 'init',
): Layer => ({ kind: 'conv', name, out, kernel, stride, pad, groups, relu: true, init, bias });
const fc = (
  name: string,
  out: number | 'classes',
  relu: boolean,
  init: Init,
  bias: number | 'init',
  feature?: string,
): Layer => ({ kind: 'linear', name, out, relu, init, bias, feature });
const paperLrn: Layer = { kind: 'lrn', size: 5, alpha: 1e-4, beta: 0.75, k: 2 };
const pool: Layer = { kind: 'maxpool', kernel: 3, stride: 2 };
const drop: Layer = { kind: 'dropout' };
const flat: Layer = { kind: 'flatten' };

/**
 * The 2012 network (sec. 3.5). Input 3×227×227: the paper says 224, but an 11×11 stride-4 conv
 * gives 55×55 only from 227. ReLU → LRN → overlapping pool after conv1/conv2, groups 2 on
 * conv2/4/5 (the two-GPU split), dropout 0.5 after fc6/fc7. Init N(0, 0.01); biases 1 in
 * conv2, conv4, conv5, fc6, fc7 and 0 elsewhere. 60,965,224 parameters at 1000 classes.
 */
const N01: Init = { kind: 'normal', std: 0.01 };
export const paper: Arch = {
  name: 'paper',
  channels: 3,
  inputSize: 227,
  pixelScale: 1,
  layers: [
    conv('conv1', 96, 11, 4, 0, 1, N01, 0),
    paperLrn,
    pool,
    conv('conv2', 256, 5, 1, 2, 2, N01, 1),
    paperLrn,
    pool,
    conv('conv3', 384, 3, 1, 1, 1, N01, 0),
    conv('conv4', 384, 3, 1, 1, 2, N01, 1),
    conv('conv5', 256, 3, 1, 1, 2, N01, 1),
    pool,
    flat,
    fc('fc6', 4096, true, N01, 1),
    drop,
    fc('fc7', 4096, true, N01, 1, 'fc7'),
    drop,
    fc('fc8', 'classes', false, N01, 0),
  ],
};

/**
 * torchvision.models.alexnet: one tower (64-192-384-256-256), no LRN, no groups, 224 input,
 * adaptive 6×6 average pool, dropout before fc6 and fc7. Names match its state_dict. Inputs are
 * preprocessed as torchvision's: image files resized bilinearly (shorter side 256, centre crops),
 * pixels/255, then (x − mean)/std with the ImageNet constants, so weights trained in PyTorch see what
 * they were trained on.
 */
const T: Init = { kind: 'torch' };
export const torchvision: Arch = {
  name: 'torchvision',
  channels: 3,
  inputSize: 224,
  pixelScale: 1 / 255,
  fixedNorm: { mean: IMAGENET_MEAN, std: IMAGENET_STD },
  resample: 'bilinear',
  layers: [
    conv('features.0', 64, 11, 4, 2, 1, T, 'init'),
    pool,
    conv('features.3', 192, 5, 1, 2, 1, T, 'init'),
    pool,
    conv('features.6', 384, 3, 1, 1, 1, T, 'init'),
    conv('features.8', 256, 3, 1, 1, 1, T, 'init'),
    conv('features.10', 256, 3, 1, 1, 1, T, 'init'),
    pool,
    { kind: 'adaptiveavgpool', size: 6 },
    flat,
    drop,
    fc('classifier.1', 4096, true, T, 'init'),
    drop,
    fc('classifier.4', 4096, true, T, 'init', 'fc7'),
    fc('classifier.6', 'classes', false, T, 'init'),
  ],
};

/**
 * The paper's topology scaled for 28×28 (or 32×32) inputs: 5 conv (groups 2 on conv2/4/5),
 * LRN after conv1/conv2, three overlapping 3/2 pools, 3 FC with dropout. ~5 M multiply-adds
 * per 28×28 image, so an epoch of Fashion-MNIST takes minutes on a CPU Vulkan driver.
 *
 * | layer | out | kernel/stride/pad | groups | 28×28 in → out |
 * |---|---|---|---|---|
 * | conv1 + ReLU + LRN + pool 3/2 | 24 | 5/1/2 | 1 | 28 → 28 → 13 |
 * | conv2 + ReLU + LRN + pool 3/2 | 48 | 5/1/2 | 2 | 13 → 13 → 6 |
 * | conv3 + ReLU | 64 | 3/1/1 | 1 | 6 |
 * | conv4 + ReLU | 64 | 3/1/1 | 2 | 6 |
 * | conv5 + ReLU + pool 3/2 | 48 | 3/1/1 | 2 | 6 → 2 |
 * | fc6 + ReLU + dropout | 256 | | | 192 → 256 |
 * | fc7 + ReLU + dropout | 256 | | | |
 * | fc8 | classes | | | |
 * Init differs from the paper's on purpose: N(0, 0.01) starves a net this narrow, and the paper's
 * bias of 1 on conv2/4/5/fc6/fc7 leaves it stuck at loss ln(classes) from lr 0.05 on (measured with
 * the same net in PyTorch). So: He-normal weights, fc8 N(0, 0.01) (first logits ≈ 0), biases 0.
 * Pixels are scaled to [0, 1] before mean subtraction.
 */
const K: Init = { kind: 'kaiming' };
export const mini: Arch = {
  name: 'mini',
  channels: 1,
  inputSize: 28,
  pixelScale: 1 / 255,
  layers: [
    conv('conv1', 24, 5, 1, 2, 1, K, 0),
    paperLrn,
    pool,
    conv('conv2', 48, 5, 1, 2, 2, K, 0),
    paperLrn,
    pool,
    conv('conv3', 64, 3, 1, 1, 1, K, 0),
    conv('conv4', 64, 3, 1, 1, 2, K, 0),
    conv('conv5', 48, 3, 1, 1, 2, K, 0),
    pool,
    flat,
    fc('fc6', 256, true, K, 0),
    drop,
    fc('fc7', 256, true, K, 0, 'fc7'),
    drop,
    fc('fc8', 'classes', false, N01, 0),
  ],
};

export const archs = { paper, torchvision, mini } as const;
export type ArchName = keyof typeof archs;
/** The built-in archs' names (the CLI's --arch choices). */
export const ARCH_NAMES = Object.keys(archs) as ArchName[];

/** A built-in arch by name, or the table given. */
export function archOf(arch: Arch | string): Arch {
  if (typeof arch !== 'string') return arch;
  if (!Object.hasOwn(archs, arch))
    throw new ShapeError(`unknown arch '${arch}' (built in: ${Object.keys(archs).join(', ')}; or pass a layer table)`);
  return archs[arch as ArchName];
}

type Named = Extract<Layer, { kind: 'conv' } | { kind: 'linear' }>;
const named = (a: Arch): Named[] => a.layers.filter((l): l is Named => l.kind === 'conv' || l.kind === 'linear');

/** Name of the first layer with parameters (conv1, features.0): its weight holds the input channels. */
export const firstLayerName = (a: Arch): string => named(a)[0].name;

/** Name of the last layer (fc8, classifier.6): its bias holds the number of classes. */
export const lastLayerName = (a: Arch): string => named(a)[named(a).length - 1].name;

/**
 * The towers the first layer's kernels feed: the groups of the next conv (the paper's two GPUs: 2;
 * torchvision's one tower: 1). Pictures of conv1 show one block per tower.
 */
export function towers(a: Arch): number {
  const next = named(a)[1];
  return next?.kind === 'conv' ? next.groups : 1;
}
