// A small, strict command-line parser: every flag is declared with its type, default and help;
// an unknown flag or a malformed value is a UsageError (the CLI exits 2 with one line).
import { AlexnetError } from '../errors.js';

export class UsageError extends AlexnetError {}

export type FlagType = 'string' | 'int' | 'number' | 'boolean' | 'list';
export interface FlagSpec { type: FlagType; default?: unknown; help: string; choices?: readonly string[] }
export type FlagSpecs = Record<string, FlagSpec>;

/** Parse `argv` (after the command) against `specs`; returns flags (camelCased) and positionals. */
export function parseArgs(argv: string[], specs: FlagSpecs): { flags: Record<string, any>; positional: string[] } {
  const flags: Record<string, any> = {};
  for (const [name, s] of Object.entries(specs)) if (s.default !== undefined) flags[camel(name)] = s.default;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { positional.push(a); continue; }
    let [name, value] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    let negated = false;
    if (!specs[name] && name.startsWith('no-') && specs[name.slice(3)]?.type === 'boolean') { name = name.slice(3); negated = true; }
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown flag --${name} (see --help)`);
    if (spec.type === 'boolean') {
      if (value !== undefined && !/^(true|false)$/.test(value)) throw new UsageError(`--${name} takes no value or true/false, got '${value}'`);
      flags[camel(name)] = negated ? false : value !== 'false';
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      value = argv[++i];
    }
    flags[camel(name)] = convert(name, spec, value);
  }
  return { flags, positional };
}

function convert(name: string, spec: FlagSpec, v: string): unknown {
  if (spec.choices && !spec.choices.includes(v)) throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')}, got '${v}'`);
  switch (spec.type) {
    case 'int': {
      if (!/^-?\d+$/.test(v)) throw new UsageError(`--${name} must be an integer, got '${v}'`);
      return Number(v);
    }
    case 'number': {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got '${v}'`);
      return n;
    }
    case 'list': return v.split(',').filter(Boolean);
    default: return v;
  }
}

const camel = (s: string): string => s.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());

export function helpText(command: string, summary: string, specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([n, s]) => {
    const flag = s.type === 'boolean' ? `--${n}` : `--${n} ${s.type === 'list' ? 'A,B' : s.type.toUpperCase()}`;
    const def = s.default !== undefined && s.default !== false ? ` (default ${s.default})` : '';
    const ch = s.choices ? ` [${s.choices.join('|')}]` : '';
    return `  ${flag.padEnd(26)} ${s.help}${ch}${def}`;
  });
  return `alexnet-wgsl ${command} — ${summary}\n\n${rows.join('\n')}\n`;
}
