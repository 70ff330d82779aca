// What the work being encoded belongs to (a layer, 'conv2 backward', 'update'): a label set for
// the duration of a function, restored when it returns or throws. Profiles group dispatches by it
// and the tape names each node's backward after it. Labels mark synchronous encoding; a function
// that returns a Promise is refused, since what runs after its first await would not be labelled.
import { AlexnetError } from '../errors.js';

let current = '';

/** Run `fn` with work labelled `label`. */
export function scope<T>(label: string, fn: () => T): T {
  const outer = current;
  current = label;
  try {
    const r = fn();
    if (r instanceof Promise)
      throw new AlexnetError(`scope('${label}'): fn returned a Promise; label synchronous encoding only`);
    return r;
  } finally {
    current = outer;
  }
}

/** The innermost label, or '' outside every scope. */
export const currentLabel = (): string => current;
