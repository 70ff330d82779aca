// sharp (libvips) is an optional dependency, needed only to read image files and write pictures:
// it is imported on first use, so the rest of the package works without it, and its absence is an
// error that names the install command.
import { MissingDependencyError } from '../errors.js';

type SharpFactory = typeof import('sharp').default;

let loading: Promise<SharpFactory> | undefined;

/** The sharp function, loaded once. */
export function loadSharp(): Promise<SharpFactory> {
  return (loading ??= import('sharp').then(
    (m) => m.default,
    (e: unknown) => {
      loading = undefined;
      throw new MissingDependencyError(
        `reading image files and writing pictures needs the optional package sharp, which could not be loaded (${(e as Error).message.split('\n')[0]}); install it with: npm install sharp`,
      );
    },
  ));
}
