// safetensors files: written atomically with a checksum of the data section, read straight into
// typed arrays (no whole-file buffer) with the checksum verified. The header code is the core's
// (formats/safetensors.ts); node:crypto hashes here because it is several times faster on big files.
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { FormatError } from '../../errors.js';
import {
  allocate,
  encodeParts,
  headerLength,
  parseHeader,
  verifyChecksum,
  CHECKSUM_KEY,
  type NamedTensor,
  type Safetensors,
} from '../../formats/safetensors.js';
import { atomicWrite, type AtomicFs } from './atomic.js';

/** Write a checkpoint atomically, with metadata "checksum" = sha256 of the data section. */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, NamedTensor>,
  metadata: Record<string, string> = {},
  fs?: AtomicFs,
): Promise<void> {
  const { head, views } = encodeParts(tensors, metadata, createHash('sha256'));
  await atomicWrite(path, [head, ...views], fs);
}

/** Read a checkpoint straight into typed arrays (no whole-file buffer), verifying its checksum. */
export async function readSafetensors(path: string): Promise<Safetensors> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const prefix = new Uint8Array(Math.min(8, size));
    await readFully(fh, prefix, 0, path);
    const n = headerLength(prefix, size, path);
    const head = new Uint8Array(n);
    await readFully(fh, head, 8, path);
    const { entries, metadata } = parseHeader(head, size - 8 - n, path);
    const hash = createHash('sha256');
    const tensors: Record<string, NamedTensor> = Object.create(null);
    // Entries come back sorted and contiguous, so hashing them in order hashes the data section.
    for (const e of entries) {
      const { data, raw } = allocate(e);
      await readFully(fh, raw, 8 + n + e.begin, path);
      hash.update(raw);
      tensors[e.name] = { dtype: e.dtype, shape: e.shape, data };
    }
    if (metadata[CHECKSUM_KEY] !== undefined) verifyChecksum(metadata[CHECKSUM_KEY], hash.digest('hex'), path);
    return { tensors, metadata };
  } finally {
    await fh.close();
  }
}

async function readFully(fh: FileHandle, into: Uint8Array, position: number, source: string): Promise<void> {
  for (let off = 0; off < into.length; ) {
    const len = Math.min(into.length - off, 64 * 1024 * 1024);
    const { bytesRead } = await fh.read(into, off, len, position + off);
    if (bytesRead === 0) throw new FormatError(`${source}: file ended early (truncated while being read?)`);
    off += bytesRead;
  }
}
