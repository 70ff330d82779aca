// Compute pipelines are created once per (kernel, override constants) and kept for the engine's
// life, each with the explicit bind-group layout its descriptor declares (src/gpu/kernel.ts).
// Compilation is checked inside an error scope: a WGSL error becomes a ShaderError that carries
// the compiler's messages with line:column and the offending source line.
import { DispatchError, ShaderError } from '../errors.js';
import type { Kernel } from './kernel.js';
import { ShaderStage } from './usage.js';

export type { Kernel } from './kernel.js';

export type Overrides = Record<string, number>;

export class PipelineCache {
  private cache = new Map<string, GPUComputePipeline>();
  private modules = new Map<string, GPUShaderModule>();
  private layouts = new Map<Kernel, { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout }>();

  constructor(
    private device: GPUDevice,
    private defer: (check: Promise<Error | null>) => void,
  ) {}

  get size(): number {
    return this.cache.size;
  }

  /** The bind-group layout of `kernel`, from its declared bindings. */
  layout(kernel: Kernel): GPUBindGroupLayout {
    return this.layoutsOf(kernel).group;
  }

  private layoutsOf(kernel: Kernel) {
    let l = this.layouts.get(kernel);
    if (!l) {
      const entries = kernel.bindings.map((type, binding) => ({
        binding,
        visibility: ShaderStage.COMPUTE,
        buffer: { type },
      }));
      const group = this.device.createBindGroupLayout({ label: kernel.name, entries });
      l = { group, pipeline: this.device.createPipelineLayout({ label: kernel.name, bindGroupLayouts: [group] }) };
      this.layouts.set(kernel, l);
    }
    return l;
  }

  get(kernel: Kernel, overrides: Overrides = {}): GPUComputePipeline {
    const key = `${kernel.name}|${JSON.stringify(overrides)}`;
    let pipe = this.cache.get(key);
    if (pipe) return pipe;
    for (const name of Object.keys(overrides))
      if (!kernel.overrides.includes(name))
        throw new DispatchError(
          `${kernel.name}: no override '${name}' (it declares ${kernel.overrides.join(', ') || 'none'})`,
        );
    let module = this.modules.get(kernel.name);
    this.device.pushErrorScope('validation');
    if (!module) {
      module = this.device.createShaderModule({ code: kernel.code, label: kernel.name });
      this.modules.set(kernel.name, module);
    }
    pipe = this.device.createComputePipeline({
      label: key,
      layout: this.layoutsOf(kernel).pipeline,
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
