// Errors the engine raises on purpose. `code` lets the UI pick an explanation;
// `message` always names what was wrong and the limit it broke.

export type GpuErrorCode =
  | 'no-webgpu'
  | 'no-adapter'
  | 'device-lost'
  | 'buffer-too-large'
  | 'invalid-shape'
  | 'shader-missing'
  | 'validation';

export class GpuError extends Error {
  readonly code: GpuErrorCode;

  constructor(code: GpuErrorCode, message: string) {
    super(message);
    this.name = 'GpuError';
    this.code = code;
  }
}
