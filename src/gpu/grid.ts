// Dispatch geometry helpers: a 1-D range of workgroups folded into x·y so that no dimension
// exceeds maxComputeWorkgroupsPerDimension (65535). Kernels recover the linear workgroup index
// as wid.y * nwg.x + wid.x.
export function grid1d(workgroups: number): [number, number] {
  const x = Math.max(1, Math.min(workgroups, 65535));
  return [x, Math.max(1, Math.ceil(workgroups / x))];
}

export const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);
