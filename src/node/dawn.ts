// createEngine for Node: with no GPU, adapter or device given, the WebGPU implementation is Dawn
// (npm `webgpu`), loaded on first use so that importing the package loads no native addon.
import { AdapterError } from '../errors.js';
import { createEngine as createCoreEngine, type Engine, type EngineInfo, type EngineOptions } from '../gpu/engine.js';
import { fileTuneStore } from './tune_cache.js';

export interface NodeEngineOptions extends EngineOptions {
  /** Dawn flags for `create()` when Dawn is used, e.g. ['backend=vulkan', 'adapter=NAME']. */
  dawnFlags?: string[];
}

const LAVAPIPE_HELP = `Install a GPU driver with Vulkan support, or Mesa's software Vulkan driver (lavapipe) on Debian 12:
  awk 'BEGIN{RS="";ORS="\\n\\n"} NR==1' /etc/apt/sources.list.d/debian.sources \\
    | sed 's/^Suites:.*/Suites: bookworm-backports/' > /etc/apt/sources.list.d/backports.sources
  apt-get update && apt-get install -y --no-install-recommends libvulkan1 && \\
    apt-get install -y --no-install-recommends -t bookworm-backports mesa-vulkan-drivers`;

// One Dawn instance per set of flags for the life of the process, as a browser has one navigator.gpu:
// Dawn keeps processing an instance's events after its devices are destroyed, so letting one be
// garbage-collected is a use-after-free (aborts or hangs); an instance whose devices are destroyed
// does not keep the process alive. It also means adapter discovery runs once: on lavapipe that is
// where Dawn prints its two "artificially reduced" warnings, natively to stderr, whatever is requested.
const instances = new Map<string, GPU>();

/** An engine on the device given in `options`, else on a new Dawn device. */
export async function createEngine(given: NodeEngineOptions = {}): Promise<Engine> {
  // tuned winners persist in a file unless the caller gives a store of its own
  const options = { tuneStore: (a: EngineInfo['adapter']) => fileTuneStore(a), ...given };
  if (options.gpu || options.adapter || options.device) return createCoreEngine(options);
  process.env.XDG_RUNTIME_DIR ??= '/tmp'; // silences a harmless lavapipe warning
  let dawn: typeof import('webgpu');
  try {
    dawn = await import('webgpu');
  } catch (e) {
    throw new AdapterError(
      `Dawn (npm package webgpu) could not be loaded: ${(e as Error).message}; install it with: npm install webgpu`,
    );
  }
  const flags = options.dawnFlags ?? [];
  const key = JSON.stringify(flags);
  let gpu = instances.get(key);
  if (!gpu) instances.set(key, (gpu = dawn.create(flags)));
  try {
    return await createCoreEngine({ ...options, gpu });
  } catch (e) {
    if (e instanceof AdapterError) throw new AdapterError(`${e.message}\n${LAVAPIPE_HELP}`);
    throw e;
  }
}
