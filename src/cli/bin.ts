#!/usr/bin/env node
// The alexnet-wgsl executable: the command line (main.ts) on Dawn and the real file system.
import { availableParallelism } from 'node:os';

// Decoding threads (DecodePool) run sharp's work on libuv's one process-wide pool, 4 threads unless
// told otherwise: size it to the cores before anything uses it, so every decoding thread gets one.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism() + 1));
const { cli } = await import('./main.js');

process.exitCode = await cli(process.argv.slice(2));
