// `alexnet-wgsl info`: which WebGPU adapter the engine gets, with its limits and features.
import { createEngine } from '../node/dawn.js';

export async function infoCommand(): Promise<number> {
  const engine = await createEngine();
  try {
    console.log(JSON.stringify(engine.info(), null, 2));
    return 0;
  } finally {
    engine.dispose();
  }
}
