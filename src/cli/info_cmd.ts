// `alexnet-wgsl info`: which WebGPU adapter the engine gets, with its limits and features.
import type { CliEnv } from './env.js';

export async function infoCommand(_argv: string[], env: CliEnv): Promise<number> {
  const engine = await env.createEngine();
  try {
    console.log(JSON.stringify(engine.info(), null, 2));
    return 0;
  } finally {
    engine.dispose();
  }
}
