// Verified dataset download: streams to a temp file, hashes as it goes, and renames into place only
// when the SHA-256 matches, so a partial or tampered download never looks like a dataset file.
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, unlink, mkdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { AlexnetError, FormatError } from '../../errors.js';

export interface DownloadProgress {
  file: string;
  bytes: number;
  total?: number;
  done: boolean;
}

export interface DownloadOptions {
  /** expected lowercase hex SHA-256; the file is kept only if it matches */
  sha256: string;
  onProgress?: (p: DownloadProgress) => void;
  /** abort when no data arrives for this long (default 60 s) */
  idleTimeoutMs?: number;
  /** refuse bodies larger than this (default 1 GiB) */
  maxBytes?: number;
}

/** Download url to dest. Throws FormatError on a checksum mismatch, AlexnetError on network/HTTP failures. */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions): Promise<void> {
  const idle = opts.idleTimeoutMs ?? 60_000;
  const maxBytes = opts.maxBytes ?? 1 << 30;
  const file = basename(dest);
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.part-${process.pid}-${randomBytes(4).toString('hex')}`;
  const abort = new AbortController();
  let timer = setTimeout(() => abort.abort(), idle);
  const kick = () => {
    clearTimeout(timer);
    timer = setTimeout(() => abort.abort(), idle);
  };
  const fh = await open(tmp, 'wx');
  let closed = false;
  try {
    let res: Response;
    try {
      res = await fetch(url, { signal: abort.signal, redirect: 'follow' });
    } catch (e) {
      throw new AlexnetError(
        `${url}: download failed (${abort.signal.aborted ? `no data for ${idle} ms` : (e as Error).message})`,
      );
    }
    if (!res.ok || !res.body) throw new AlexnetError(`${url}: HTTP ${res.status} ${res.statusText}`);
    const lenHeader = res.headers.get('content-length');
    const total = lenHeader !== null && /^\d+$/.test(lenHeader) ? Number(lenHeader) : undefined;
    if (total !== undefined && total > maxBytes)
      throw new AlexnetError(`${url}: ${total} bytes exceeds the ${maxBytes}-byte limit`);
    const hash = createHash('sha256');
    const reader = res.body.getReader();
    let bytes = 0;
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw new AlexnetError(
          `${url}: download failed after ${bytes} bytes (${abort.signal.aborted ? `no data for ${idle} ms` : (e as Error).message})`,
        );
      }
      if (chunk.done) break;
      kick();
      bytes += chunk.value.length;
      if (bytes > maxBytes) {
        abort.abort();
        throw new AlexnetError(`${url}: body exceeds the ${maxBytes}-byte limit`);
      }
      hash.update(chunk.value);
      await fh.write(chunk.value);
      opts.onProgress?.({ file, bytes, total, done: false });
    }
    if (total !== undefined && bytes !== total)
      throw new AlexnetError(`${url}: truncated download (${bytes} of ${total} bytes)`);
    await fh.close();
    closed = true;
    const got = hash.digest('hex');
    if (got !== opts.sha256.toLowerCase())
      throw new FormatError(`${url}: SHA-256 mismatch: got ${got}, expected ${opts.sha256} (file discarded)`);
    await rename(tmp, dest);
    opts.onProgress?.({ file, bytes, total, done: true });
  } catch (e) {
    if (!closed) await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** A progress reporter drawing a bar on stderr (redrawn at most every 100 ms; one line per file when not a TTY). */
export function stderrProgress(stream: NodeJS.WriteStream = process.stderr): (p: DownloadProgress) => void {
  let last = 0;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  return (p) => {
    if (!stream.isTTY) {
      if (p.done) stream.write(`downloaded ${p.file} (${mb(p.bytes)} MB)\n`);
      return;
    }
    const now = Date.now();
    if (!p.done && now - last < 100) return;
    last = now;
    const frac = p.total ? Math.min(1, p.bytes / p.total) : 0;
    const bar = p.total ? `[${'#'.repeat(Math.round(frac * 30)).padEnd(30)}] ` : '';
    const size = p.total ? `${mb(p.bytes)}/${mb(p.total)} MB ${Math.floor(frac * 100)}%` : `${mb(p.bytes)} MB`;
    stream.write(`\r${p.file} ${bar}${size}${p.done ? '\n' : ''}`);
  };
}
