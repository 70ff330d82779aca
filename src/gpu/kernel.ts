// Kernel descriptors: what a WGSL kernel declares, read once from its source. Its bindings (the
// uniform block at 0, storage buffers after it, each read-only or writable) become an explicit
// bind-group layout; its uniform struct's fields, by name and type, are what a dispatch must give
// (a field missing, unknown or of the wrong kind is an error naming it, not a wrong number); its
// `override`s are the only constants a dispatch may set. The kernels follow one layout: group 0,
// binding 0 a `var<uniform>` of a struct of scalar u32/i32/f32 fields, bindings 1… storage arrays.
import { ShaderError } from '../errors.js';

export type BindingType = 'uniform' | 'read-only-storage' | 'storage';
export type FieldType = 'u32' | 'i32' | 'f32';

export interface Kernel {
  readonly name: string;
  readonly code: string;
  /** Binding k's type, k = 0 … (0 is the uniform block). */
  readonly bindings: readonly BindingType[];
  /** The uniform struct's fields in declaration order. */
  readonly fields: ReadonlyArray<{ name: string; type: FieldType }>;
  /** Names of the `override` constants. */
  readonly overrides: readonly string[];
  /** @workgroup_size of `main`: a number per dimension, or the override that sets it. */
  readonly workgroupSize: ReadonlyArray<number | string>;
}

/** Where in `code` an offset is, as line:col (1-based). */
function lineCol(code: string, at: number): string {
  const before = code.slice(0, at).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

/** Read `code`'s declarations; a kernel outside the layout above is a ShaderError with line:col. */
export function defineKernel(name: string, code: string): Kernel {
  const fail = (at: number, why: string): never => {
    throw new ShaderError(`kernel ${name}.wgsl:${lineCol(code, at)}: ${why}`);
  };
  const src = code.replace(/\/\/[^\n]*/g, (c) => ' '.repeat(c.length)); // comments out, offsets kept
  const bindings: BindingType[] = [];
  let structName = '';
  for (const m of src.matchAll(/@group\((\d+)\)\s*@binding\((\d+)\)\s*var<([^>]*)>\s*(\w+)\s*:\s*(\w+)/g)) {
    const [, group, binding, space, , type] = m;
    if (group !== '0') fail(m.index!, `binding in group ${group}: kernels use group 0 only`);
    const k = Number(binding);
    if (bindings[k]) fail(m.index!, `binding ${k} is declared twice`);
    const kind = space.replace(/\s/g, '');
    if (kind === 'uniform') {
      if (k !== 0) fail(m.index!, `the uniform block must be binding 0, not ${k}`);
      structName = type;
      bindings[k] = 'uniform';
    } else if (kind === 'storage,read') bindings[k] = 'read-only-storage';
    else if (kind === 'storage,read_write') bindings[k] = 'storage';
    else fail(m.index!, `binding ${k}: var<${space}> is neither uniform nor storage`);
  }
  if (bindings[0] !== 'uniform') fail(0, 'no uniform block at binding 0');
  for (let k = 0; k < bindings.length; k++) if (!bindings[k]) fail(0, `binding ${k} is missing (bindings must be 0…n)`);
  const struct = new RegExp(`struct\\s+${structName}\\s*\\{([^}]*)\\}`).exec(src);
  if (!struct) return fail(0, `struct ${structName} of the uniform block is not declared`);
  const fields: Kernel['fields'][number][] = [];
  for (const part of struct[1].split(',')) {
    const f = part.trim();
    if (!f) continue;
    const m = /^(\w+)\s*:\s*(\w+)$/.exec(f);
    if (!m || !['u32', 'i32', 'f32'].includes(m[2]))
      fail(struct.index + struct[0].indexOf(f), `uniform field '${f}' is not a scalar u32, i32 or f32`);
    fields.push({ name: m![1], type: m![2] as FieldType });
  }
  const overrides = [...src.matchAll(/\boverride\s+(\w+)/g)].map((m) => m[1]);
  const wg = /@workgroup_size\(([^)]*)\)/.exec(src);
  if (!wg) return fail(0, 'no @workgroup_size');
  const workgroupSize = wg[1].split(',').map((d) => (/^\s*\d+u?\s*$/.test(d) ? Number.parseInt(d, 10) : d.trim()));
  return { name, code, bindings, fields, overrides, workgroupSize };
}
