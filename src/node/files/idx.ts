// IDX files, raw or gzipped (detected by content), with a bound on the decompressed size (a gzip
// bomb guard); gunzip of a file runs off the main thread. Parsing is the core's (formats/idx.ts).
import { readFile } from 'node:fs/promises';
import { gunzip, gunzipSync, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { FormatError } from '../../errors.js';
import { encodeIdx, isGzip, parseIdx, type IdxArray } from '../../formats/idx.js';
import { atomicWrite } from './atomic.js';

export interface IdxOptions {
  /** Largest decompressed size accepted from a .gz file (a gzip bomb guard). Default 1 GiB. */
  maxBytes?: number;
}

const DEFAULT_MAX = 1 << 30;
const gunzipAsync = promisify(gunzip);

/** Parse an IDX file already in memory; `name` is used in error messages. Gzip is detected by its magic. */
export function decodeIdx(bytes: Uint8Array, name = '<buffer>', opts: IdxOptions = {}): IdxArray {
  return parseIdx(isGzip(bytes) ? gunzipBounded(bytes, name, opts.maxBytes ?? DEFAULT_MAX) : bytes, name);
}

/** Read an IDX file (raw or .gz, detected by content); gunzip runs off the main thread. */
export async function readIdx(path: string, opts: IdxOptions = {}): Promise<IdxArray> {
  const bytes = await readFile(path);
  if (!isGzip(bytes)) return parseIdx(bytes, path);
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX;
  let raw: Uint8Array;
  try {
    raw = await gunzipAsync(bytes, { maxOutputLength: maxBytes });
  } catch (e) {
    throw gzError(path, e, maxBytes);
  }
  return parseIdx(raw, path);
}

function gunzipBounded(bytes: Uint8Array, name: string, maxBytes: number): Uint8Array {
  try {
    return gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (e) {
    throw gzError(name, e, maxBytes);
  }
}

function gzError(name: string, e: unknown, maxBytes: number): FormatError {
  const code = (e as { code?: string }).code;
  if (code === 'ERR_BUFFER_TOO_LARGE')
    return new FormatError(`${name}: decompressed size exceeds the ${maxBytes}-byte limit`);
  return new FormatError(`${name}: corrupt gzip data (${(e as Error).message})`);
}

/** Write an IDX file (gzipped when opts.gzip) atomically. */
export async function writeIdx(
  path: string,
  dims: readonly number[],
  data: Uint8Array,
  opts: { gzip?: boolean } = {},
): Promise<void> {
  const raw = encodeIdx(dims, data);
  await atomicWrite(path, opts.gzip ? gzipSync(raw) : raw);
}
