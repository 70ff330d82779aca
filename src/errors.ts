// Typed errors thrown by the engine. Every failure a caller can act on has its own class,
// so programs can `instanceof`-check instead of parsing messages.

/** Base class of every error this package throws. */
export class AlexnetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes or dtypes of an op's operands do not fit; thrown before anything is dispatched. */
export class ShapeError extends AlexnetError {}

/** An operand's values are outside what it may hold: labels outside [0, classes), 1.5 as an integer. Thrown before anything is dispatched. */
export class ValueError extends AlexnetError {}

/** No WebGPU adapter or device could be acquired. */
export class AdapterError extends AlexnetError {}

/** A WGSL module failed to compile or a pipeline failed to validate (message has line:col). */
export class ShaderError extends AlexnetError {}

/** A dispatch does not match its kernel's declarations: a uniform field missing, unknown or of the wrong kind, an unknown override, a binding count. */
export class DispatchError extends AlexnetError {}

/** The device reported a validation or out-of-memory error, or was lost. */
export class DeviceError extends AlexnetError {}

/** A request exceeds a hard limit of the device (buffer size, memory budget). */
export class LimitError extends AlexnetError {}

/** A tensor or engine was used after dispose(). */
export class DisposedError extends AlexnetError {}

/** A file (checkpoint, dataset, array) is malformed; names the file and the problem. */
export class FormatError extends AlexnetError {}

/** Format a shape for messages: [2,3,4]. */
export const fmtShape = (s: readonly number[]): string => `[${s.join(',')}]`;

/** A loss or gradient became NaN/Inf; training stopped without touching the last checkpoint. */
export class NumericalError extends AlexnetError {}

/** An optional dependency (sharp) a feature needs is not installed; the message names the install command. */
export class MissingDependencyError extends AlexnetError {}
