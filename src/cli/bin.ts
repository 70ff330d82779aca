#!/usr/bin/env node
// The alexnet-wgsl executable: the command line (main.ts) on Dawn and the real file system.
import { cli } from './main.js';

process.exitCode = await cli(process.argv.slice(2));
