// A small, strict command-line parser. Each command declares one flag table (name, type, default,
// help, choices, the range a value must lie in); --help, parsing and the typed options are all
// derived from it. An unknown flag or a value out of its type or range is a UsageError (the CLI
// exits 2 with one line).
import { AlexnetError } from '../errors.js';

export class UsageError extends AlexnetError {}

type Kind = 'string' | 'int' | 'number' | 'boolean' | 'ints';
type ValueOf<K extends Kind> = K extends 'string'
  ? string
  : K extends 'boolean'
    ? boolean
    : K extends 'ints'
      ? number[]
      : number;

/** One flag: its kind, help, default (flags without one may be absent), choices, and numeric range. */
export interface Flag<K extends Kind = Kind, V = ValueOf<K>, Required extends boolean = boolean> {
  kind: K;
  help: string;
  default?: V;
  choices?: readonly V[];
  /** The range a number (each of an `ints` list too) must lie in: ≥ min, > above, ≤ max, < below. */
  min?: number;
  above?: number;
  max?: number;
  below?: number;
  /** Phantom: whether a value is always present (a default exists). */
  readonly required?: Required;
}

type Range = { min?: number; above?: number; max?: number; below?: number };
type Opts<V> = Range & { choices?: readonly V[] };

/** A flag with a default: its value is always present. */
function withDefault<K extends Kind, V extends ValueOf<K>>(
  kind: K,
  help: string,
  value: V,
  o: Opts<V> = {},
): Flag<K, V, true> {
  return { kind, help, default: value, ...o };
}
/** A flag without a default: its value may be absent. */
function optional<K extends Kind, V extends ValueOf<K>>(kind: K, help: string, o: Opts<V> = {}): Flag<K, V, false> {
  return { kind, help, ...o };
}

/** The constructors of a flag table's entries (and the flags several commands share, below). */
export const flag = {
  string: (help: string, value: string) => withDefault('string', help, value),
  stringOpt: (help: string) => optional('string', help),
  choice: <const C extends readonly string[]>(help: string, choices: C, value: C[number]) =>
    withDefault<'string', C[number]>('string', help, value, { choices }),
  choiceOpt: <const C extends readonly string[]>(help: string, choices: C) =>
    optional<'string', C[number]>('string', help, { choices }),
  int: (help: string, value: number, o?: Range) => withDefault('int', help, value, o),
  intOpt: (help: string, o?: Range) => optional('int', help, o),
  number: (help: string, value: number, o?: Range) => withDefault('number', help, value, o),
  boolean: (help: string, value = false) => withDefault('boolean', help, value),
  intsOpt: (help: string, o?: Range) => optional('ints', help, o),
};

type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
// biome-ignore lint/suspicious/noExplicitAny: any flag of a table
type AnyFlag = Flag<any, any, any>;
export type FlagTable = Record<string, AnyFlag>;
/** The typed options a table gives: camelCased names, values absent only where there is no default. */
export type Flags<T extends FlagTable> = {
  [K in keyof T & string as Camel<K>]: T[K] extends Flag<Kind, infer V, infer R>
    ? R extends true
      ? V
      : V | undefined
    : never;
};

/** Parse `argv` (after the command) against `table`; returns the typed flags and the positionals. */
export function parseArgs<T extends FlagTable>(argv: string[], table: T): { flags: Flags<T>; positional: string[] } {
  const flags: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(table)) if (s.default !== undefined) flags[camel(name)] = s.default;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    let [name, value] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    let negated = false;
    if (!table[name] && name.startsWith('no-') && table[name.slice(3)]?.kind === 'boolean') {
      name = name.slice(3);
      negated = true;
    }
    const spec = table[name];
    if (!spec) throw new UsageError(`unknown flag --${name} (see --help)`);
    if (spec.kind === 'boolean') {
      if (value !== undefined && !/^(true|false)$/.test(value))
        throw new UsageError(`--${name} takes no value or true/false, got '${value}'`);
      flags[camel(name)] = negated ? false : value !== 'false';
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      value = argv[++i];
    }
    flags[camel(name)] = convert(name, spec, value);
  }
  return { flags: flags as Flags<T>, positional };
}

function convert(name: string, spec: AnyFlag, v: string): unknown {
  if (spec.choices && !spec.choices.includes(v))
    throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')}, got '${v}'`);
  if (spec.kind === 'string') return v;
  if (spec.kind === 'ints')
    return v
      .split(',')
      .filter(Boolean)
      .map((s) => checkRange(name, spec, integer(name, s)));
  return checkRange(name, spec, spec.kind === 'int' ? integer(name, v) : number(name, v));
}

function integer(name: string, v: string): number {
  if (!/^-?\d+$/.test(v)) throw new UsageError(`--${name} must be an integer, got '${v}'`);
  return Number(v);
}

function number(name: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got '${v}'`);
  return n;
}

function checkRange(name: string, s: AnyFlag, n: number): number {
  const out =
    (s.min !== undefined && n < s.min) ||
    (s.above !== undefined && n <= s.above) ||
    (s.max !== undefined && n > s.max) ||
    (s.below !== undefined && n >= s.below);
  if (out) {
    throw new UsageError(`--${name} must be ${range(s)}, got ${n}`);
  }
  return n;
}

function range(s: AnyFlag): string {
  const lo = s.above !== undefined ? `> ${s.above}` : s.min !== undefined ? `≥ ${s.min}` : '';
  const hi = s.below !== undefined ? `< ${s.below}` : s.max !== undefined ? `≤ ${s.max}` : '';
  return lo && hi ? `${lo} and ${hi}` : lo || hi;
}

const camel = (s: string): string => s.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());

/** The command's --help, from its table. */
export function helpText(command: string, summary: string, table: FlagTable): string {
  const rows = Object.entries(table).map(([n, s]) => {
    const what = s.kind === 'boolean' ? `--${n}` : `--${n} ${s.kind === 'ints' ? 'A,B' : s.kind.toUpperCase()}`;
    const def = s.default !== undefined && s.default !== false ? ` (default ${s.default})` : '';
    const ch = s.choices ? ` [${s.choices.join('|')}]` : '';
    const rg = s.kind === 'int' || s.kind === 'number' || s.kind === 'ints' ? range(s) : '';
    return `  ${what.padEnd(26)} ${s.help}${ch}${rg ? ` (${rg})` : ''}${def}`;
  });
  return `alexnet-wgsl ${command} — ${summary}\n\n${rows.join('\n')}\n`;
}

/** How the engine times kernel variants on this adapter (src/gpu/tuner.ts). */
export const autotuneFlag = flag.choice(
  'time kernel variants on this adapter and keep the fastest: cached (new shapes once, remembered per adapter), full (all again), off',
  ['cached', 'full', 'off'] as const,
  'cached',
);

/** Threads decoding image files, for every command that reads a dataset (openData's `workers`). */
export const workersFlag = flag.intOpt(
  "threads decoding image files (default: the cores minus one; 0: on the main thread's libuv pool)",
  { min: 0 },
);
