// loadSharp() inside a decoding worker (decode_worker.ts): the worker's code runs from a data: URL,
// which cannot resolve 'sharp', so it imports the file URL the pool resolved and passed in workerData.
// The build substitutes this module for ../sharp.js in the worker's bundle only.
import { workerData } from 'node:worker_threads';

type SharpFactory = typeof import('sharp').default;

let loading: Promise<SharpFactory> | undefined;

export function loadSharp(): Promise<SharpFactory> {
  return (loading ??= import((workerData as { sharp: string }).sharp).then((m) => {
    const sharp = m.default as SharpFactory;
    // one libvips thread per decode: the pool's parallelism is its number of workers
    sharp.concurrency(1);
    sharp.cache(false); // every file is new: libvips' operation cache only holds memory (8.5 → 7.5 ms a decode off, one scratch run)
    return sharp;
  }));
}
