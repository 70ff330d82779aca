// The line budget of the engine itself (src/ and kernels/), tinygrad-style: prints the lines of each
// room and the total, and fails once the total passes the budget. Raise it on purpose, not by drift.
//   node scripts/budget.mjs
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

// 12,000 → 13,000: the input pipeline's decoding threads and prepared format (issue 14) and the
// paper's experiments (issue 13) are new rooms, about 1,000 lines together.
// 13,000 → 14,200: kernel descriptors (named uniform fields, explicit layouts), the recorded and
// replayed step with its arena plan, and autotuning (issue 10), about 1,200 lines together.
// 14,200 → 14,600: the kernel microbenchmarks that ship with the package (src/microbench, `bench kernels`).
// 14,600 → 15,000: four workgroup-memory kernels for GPUs (conv forward, dX, dW, GEMM; ~430 lines of
// WGSL), autotuner candidates beside the lavapipe-shaped register tiles.
// 15,000 → 15,600: four subgroup kernels (conv forward, dX, dW, GEMM; ~490 lines of WGSL) for
// adapters with `subgroups`, and the engine's pool trim after a recorded step.
// 15,600 → 15,700: the workgroup-memory kernels double-buffered, the GEMM's with vec4 loads (their
// loads move into functions the two buffers share).
const BUDGET = 15_700;
const rooms = new Map();
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.(ts|wgsl)$/.test(name)) {
      const room = path
        .split('/')
        .slice(0, path.startsWith('src/node/') ? 3 : 2)
        .join('/');
      rooms.set(room, (rooms.get(room) ?? 0) + readFileSync(path, 'utf8').split('\n').length - 1);
    }
  }
};
walk('src');
walk('kernels');
const total = [...rooms.values()].reduce((a, b) => a + b, 0);
for (const [room, lines] of [...rooms].sort((a, b) => b[1] - a[1]))
  console.log(`${String(lines).padStart(6)}  ${room}`);
console.log(`${String(total).padStart(6)}  lines in src/ and kernels/, budget ${BUDGET}`);
if (total > BUDGET) {
  console.error(
    `over the line budget by ${total - BUDGET} lines: make room, or raise BUDGET in scripts/budget.mjs with a reason`,
  );
  process.exit(1);
}
