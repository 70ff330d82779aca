// WGSL kernels are imported as text (esbuild loader '.wgsl': 'text').
declare module '*.wgsl' {
  const source: string;
  export default source;
}

// Worker threads' code is imported as text: 'worker:./file.ts' is that file bundled alone as an ES
// module (scripts/build.mjs), so a worker starts from a data: URL wherever the importing bundle lives.
declare module 'worker:*' {
  const source: string;
  export default source;
}
