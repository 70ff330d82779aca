// Compute pipelines are created once per (kernel, override constants) and kept for the engine's
// life. Compilation is checked inside an error scope: a WGSL error becomes a ShaderError that
// carries the compiler's messages with line:column and the offending source line.
import { ShaderError } from '../errors.js';

/** A WGSL compute kernel: a name (for messages and the cache key) and its source, entry `main`. */
export interface Kernel {
  readonly name: string;
  readonly code: string;
}

export type Overrides = Record<string, number>;

export class PipelineCache {
  private cache = new Map<string, GPUComputePipeline>();
  private modules = new Map<string, GPUShaderModule>();

  constructor(
    private device: GPUDevice,
    private defer: (check: Promise<Error | null>) => void,
  ) {}

  get size(): number {
    return this.cache.size;
  }

  get(kernel: Kernel, overrides: Overrides = {}): GPUComputePipeline {
    const key = `${kernel.name}|${JSON.stringify(overrides)}`;
    let pipe = this.cache.get(key);
    if (pipe) return pipe;
    let module = this.modules.get(kernel.name);
    this.device.pushErrorScope('validation');
    if (!module) {
      module = this.device.createShaderModule({ code: kernel.code, label: kernel.name });
      this.modules.set(kernel.name, module);
    }
    pipe = this.device.createComputePipeline({
      label: key,
      layout: 'auto',
      compute: { module, entryPoint: 'main', constants: overrides },
    });
    const scope = this.device.popErrorScope();
    const mod = module;
    this.defer(scope.then(async (err) => (err ? describe(kernel, mod, err, overrides) : null)));
    this.cache.set(key, pipe);
    return pipe;
  }
}

async function describe(kernel: Kernel, module: GPUShaderModule, err: GPUError, overrides: Overrides): Promise<Error> {
  const info = await module.getCompilationInfo();
  const lines = kernel.code.split('\n');
  const msgs = info.messages
    .filter((m) => m.type === 'error')
    .map(
      (m) => `${kernel.name}.wgsl:${m.lineNum}:${m.linePos}: ${m.message}\n    ${lines[m.lineNum - 1]?.trim() ?? ''}`,
    );
  const what = msgs.length ? msgs.join('\n') : `${err.message} (overrides ${JSON.stringify(overrides)})`;
  return new ShaderError(`kernel ${kernel.name} failed to compile:\n${what}`);
}
