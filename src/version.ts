// The engine's version, as package.json says (test/package.test.ts holds them equal): tuned kernel
// choices are stored per version, since a release may change the kernels.
export const VERSION = '0.1.0';
