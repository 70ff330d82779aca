// metrics.jsonl: one JSON line per progress interval, epoch and run end. A line that cannot be
// appended (disk full) is kept and appended with the next one. On every start the file is cut back
// to the lines the starting checkpoint covers, so lines a killed run wrote after its checkpoint are
// written again, once, by the resumed run, and the file ends up as an uninterrupted run's.
import { existsSync, readFileSync } from 'node:fs';
import type { RunState } from '../../checkpoint/checkpoint.js';
import { atomicWrite, nodeFs, type AtomicFs } from '../files/atomic.js';

export class MetricsLog {
  private pending = '';
  private warned = false;

  constructor(
    readonly path: string,
    private readonly warn: (m: string) => void,
    private readonly fs: AtomicFs = nodeFs,
  ) {}

  /**
   * Cut the file back to the lines `state` covers (none for a fresh run): step lines up to its
   * step, epoch lines of its finished epochs; final lines and lines cut by a kill go. Returns how
   * many lines were dropped. The file is replaced atomically.
   */
  async truncate(state: RunState | undefined): Promise<number> {
    if (!existsSync(this.path)) return 0;
    const lines = readFileSync(this.path, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    const keep = lines.filter((l) => covered(l, state));
    if (keep.length === lines.length) return 0;
    await atomicWrite(this.path, new TextEncoder().encode(keep.map((l) => `${l}\n`).join('')), this.fs);
    return lines.length - keep.length;
  }

  /** Append a line (and any kept from before); a failure is warned about once and retried with the next. */
  async write(m: Record<string, unknown>): Promise<void> {
    this.pending += `${JSON.stringify(m)}\n`;
    try {
      await this.fs.appendFile(this.path, this.pending);
      this.pending = '';
    } catch (e) {
      if (!this.warned)
        this.warn(
          `cannot append to ${this.path} (${(e as Error).message}); lines are kept and appended once it works again`,
        );
      this.warned = true;
    }
  }
}

function covered(line: string, state: RunState | undefined): boolean {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(line);
  } catch {
    return false;
  }
  if (!state || typeof m !== 'object' || m === null) return false;
  if (m.kind === 'step') return typeof m.step === 'number' && m.step <= state.step;
  if (m.kind === 'epoch') return typeof m.epoch === 'number' && m.epoch <= state.epoch;
  return false;
}
