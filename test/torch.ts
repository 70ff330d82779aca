// PyTorch (Debian's python3-torch, CPU) as an outside reference: a script run on JSON input.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Run a Python script with torch (CPU) on `input` (passed as JSON in a temp file, path in
 * sys.argv[1]); the script prints one JSON value. Throws a clear message if torch is missing.
 */
// biome-ignore lint/suspicious/noExplicitAny: whatever JSON the script prints, read as the test expects it
export function runTorch(script: string, input: unknown, timeoutMs = 60_000): any {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-torch-'));
  try {
    const file = join(dir, 'input.json');
    writeFileSync(file, JSON.stringify(input));
    const r = spawnSync('/usr/bin/python3', ['-c', script, file], {
      encoding: 'utf8',
      timeout: timeoutMs,
      maxBuffer: 256 << 20,
    });
    if (r.error) throw new Error(`PyTorch cross-check: could not run /usr/bin/python3 (${r.error.message})`);
    if (r.status !== 0) {
      const missing = /No module named 'torch'/.test(r.stderr)
        ? ' — torch is not installed: pip install torch (CI installs torch 1.13)'
        : '';
      throw new Error(`PyTorch cross-check failed${missing}:\n${r.stderr.slice(-2000)}`);
    }
    return JSON.parse(r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
