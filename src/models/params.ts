// Named parameters to and from safetensors, for nets built without a Model: the values by name
// (PyTorch's state_dict idea), checked by name and shape both ways. Model.stateDict/load use the
// same two functions, so a hand-built net and a layer-table net save and load alike.
import { FormatError, ShapeError, fmtShape } from '../errors.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor, type Safetensors } from '../formats/safetensors.js';
import type { Tensor } from '../tensor/tensor.js';

export type NamedValues = Map<string, { shape: readonly number[]; data: ArrayLike<number> }>;

/** Host copies of the parameters by name (names must be unique). */
export async function readParameters(
  params: readonly Tensor[],
): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const p of params) {
    if (out.has(p.name)) throw new ShapeError(`parameters: two are named '${p.name}'; names identify them in files`);
    out.set(p.name, { shape: [...p.shape], data: await p.readF32() });
  }
  return out;
}

/**
 * Write values into parameters by name; every parameter must be present with its shape, or nothing
 * is written and a FormatError from `source` lists what is missing or misshapen (`what`: what the
 * parameters are, for the message). Extra names in `values` are ignored.
 */
export function writeParameters(
  params: readonly Tensor[],
  values: NamedValues,
  source: string,
  what = 'these parameters',
): void {
  const missing: string[] = [],
    misshapen: string[] = [];
  for (const p of params) {
    const t = values.get(p.name);
    if (!t) missing.push(p.name);
    else if (
      t.shape.length !== p.shape.length ||
      t.shape.some((d, i) => d !== p.shape[i]) ||
      t.data.length !== p.size
    ) {
      misshapen.push(`${p.name} ${fmtShape(t.shape)} (expected ${fmtShape(p.shape)})`);
    }
  }
  if (missing.length || misshapen.length) {
    throw new FormatError(
      `${source}: not weights of ${what}:` +
        (missing.length ? ` missing ${missing.join(', ')};` : '') +
        (misshapen.length ? ` misshapen ${misshapen.join(', ')}` : ''),
    );
  }
  for (const p of params) p.write(values.get(p.name)!.data);
}

/** The parameters as safetensors tensors (F32, by name). */
export async function parameterTensors(params: readonly Tensor[]): Promise<Record<string, NamedTensor>> {
  const tensors: Record<string, NamedTensor> = {};
  for (const [name, t] of await readParameters(params)) tensors[name] = { dtype: 'F32', shape: t.shape, data: t.data };
  return tensors;
}

/** The parameters as safetensors bytes (F32 by name, with a checksum). */
export async function encodeParameters(
  params: readonly Tensor[],
  metadata: Record<string, string> = {},
): Promise<Uint8Array> {
  return encodeSafetensors(await parameterTensors(params), metadata, { checksum: true });
}

/** Load safetensors bytes (or a decoded file) into the parameters by name (see writeParameters). */
export function decodeParameters(
  params: readonly Tensor[],
  input: Uint8Array | Safetensors,
  source = '<buffer>',
): void {
  const file = input instanceof Uint8Array ? decodeSafetensors(input, source) : input;
  const values: NamedValues = new Map();
  for (const [name, t] of Object.entries(file.tensors)) {
    if (t.dtype !== 'F32') throw new FormatError(`${source}: tensor "${name}" is ${t.dtype}, expected F32`);
    values.set(name, { shape: t.shape, data: t.data as Float32Array });
  }
  writeParameters(params, values, source);
}
