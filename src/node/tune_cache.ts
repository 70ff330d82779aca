// The autotuner's winners on disk (src/gpu/tuner.ts): one JSON file, $ALEXNET_WGSL_CACHE (or
// $XDG_CACHE_HOME/alexnet-wgsl, or ~/.cache/alexnet-wgsl) /autotune.json, holding one table per
// adapter (vendor, architecture, device, driver description) and engine version, so the next run
// on the same adapter starts tuned. Written whole to a temporary file and renamed over the old one;
// an unreadable file is treated as empty (it is a cache).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { EngineInfo } from '../gpu/engine.js';
import type { TuneStore } from '../gpu/tuner.js';
import { VERSION } from '../version.js';

export function tuneCacheDir(): string {
  const env = process.env;
  return env.ALEXNET_WGSL_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'alexnet-wgsl');
}

export const adapterKey = (a: EngineInfo['adapter']): string =>
  `${a.vendor} | ${a.architecture} | ${a.device} | ${a.description} | alexnet-wgsl ${VERSION}`;

function readAll(file: string): Record<string, Record<string, string>> {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8'));
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

/** The store of one adapter's winners in `dir` (default tuneCacheDir()). */
export function fileTuneStore(adapter: EngineInfo['adapter'], dir = tuneCacheDir()): TuneStore & { file: string } {
  const file = join(dir, 'autotune.json');
  const key = adapterKey(adapter);
  return {
    file,
    load: () => readAll(file)[key] ?? {},
    save(winners) {
      const all = readAll(file);
      all[key] = winners;
      mkdirSync(dir, { recursive: true });
      const tmp = `${file}.tmp-${process.pid}`;
      writeFileSync(tmp, `${JSON.stringify(all, null, 1)}\n`);
      renameSync(tmp, file);
    },
  };
}
