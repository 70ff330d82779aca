// What a command runs against: where its engine comes from and the file-system calls of a
// training run's writes. The executable uses Dawn and the real file system; a program (or a test)
// running the command line in-process may give others (a device that is lost, a disk that fills).
import type { Engine } from '../gpu/engine.js';
import type { AutotuneMode } from '../gpu/tuner.js';
import { createEngine } from '../node/dawn.js';
import type { AtomicFs } from '../node/files/atomic.js';

export interface CliEnv {
  createEngine: (o?: { autotune?: AutotuneMode }) => Promise<Engine>;
  /** The file-system calls of checkpoint writes and metrics appends (default: the real ones). */
  fs?: AtomicFs;
}

export const defaultEnv: CliEnv = { createEngine: (o) => createEngine(o) };
