// GPU storage buffers with a shape and an element type, plus upload and read-back.
// Every buffer is STORAGE | COPY_SRC | COPY_DST so any op can read, write or copy it.

import type { GpuContext } from './context.ts';
import { GpuError } from './errors.ts';

export type DType = 'f32' | 'i32' | 'u32';

export type TypedArrayFor<D extends DType> = D extends 'f32'
  ? Float32Array
  : D extends 'i32'
    ? Int32Array
    : Uint32Array;

export interface Tensor<D extends DType = DType> {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  readonly dtype: D;
  /** Number of elements (product of shape). */
  readonly length: number;
  readonly label: string;
  /**
   * Set on a slice of a larger buffer (see tensorSlices): where it starts, in bytes. Ops bind
   * and copy only [byteOffset, byteOffset + length · 4); unset means the whole buffer.
   */
  readonly byteOffset?: number;
}

/** First byte of the tensor in its buffer. */
export function tensorOffset(t: Tensor): number {
  return t.byteOffset ?? 0;
}

/** True when two tensors share bytes of one buffer (slices of one buffer may sit side by side). */
export function sameMemory(a: Tensor, b: Tensor): boolean {
  if (a.buffer !== b.buffer) return false;
  if (a.byteOffset === undefined || b.byteOffset === undefined) return true;
  const aEnd = a.byteOffset + Math.max(4, a.length * 4);
  const bEnd = b.byteOffset + Math.max(4, b.length * 4);
  return a.byteOffset < bEnd && b.byteOffset < aEnd;
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new GpuError(
        'invalid-shape',
        `Shape [${shape.join(', ')}] has a dimension that is not a whole number ≥ 0`,
      );
    }
    n *= d;
  }
  return n;
}

/** Throws a clear error when a buffer of `bytes` would not fit this device. */
export function checkBufferSize(ctx: GpuContext, bytes: number, label: string): void {
  const maxBinding = ctx.limits.maxStorageBufferBindingSize;
  const maxBuffer = ctx.limits.maxBufferSize;
  const limit = Math.min(maxBinding, maxBuffer);
  if (bytes > limit) {
    const mib = (x: number) => `${(x / 2 ** 20).toFixed(1)} MiB`;
    throw new GpuError(
      'buffer-too-large',
      `Buffer "${label}" needs ${mib(bytes)}, but this device allows at most ${mib(limit)} per storage buffer ` +
        `(maxStorageBufferBindingSize ${mib(maxBinding)}, maxBufferSize ${mib(maxBuffer)}). ` +
        'Use a shorter sequence, a smaller batch or a narrower model.',
    );
  }
}

function arrayFor(dtype: DType, data: ArrayLike<number>): Float32Array | Int32Array | Uint32Array {
  if (dtype === 'f32') return data instanceof Float32Array ? data : Float32Array.from(data);
  if (dtype === 'i32') return data instanceof Int32Array ? data : Int32Array.from(data);
  return data instanceof Uint32Array ? data : Uint32Array.from(data);
}

export function createTensor<D extends DType>(
  ctx: GpuContext,
  shape: readonly number[],
  dtype: D,
  label: string,
  data?: ArrayLike<number>,
): Tensor<D> {
  ctx.assertAlive();
  const length = elementCount(shape);
  if (data !== undefined && data.length !== length) {
    throw new GpuError(
      'invalid-shape',
      `Tensor "${label}": ${data.length} values given for shape [${shape.join(', ')}] (${length} elements)`,
    );
  }
  // WebGPU buffers must be non-empty and sized in multiples of 4 bytes.
  const bytes = Math.max(4, length * 4);
  checkBufferSize(ctx, bytes, label);
  const buffer = ctx.device.createBuffer({
    label,
    size: bytes,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    mappedAtCreation: data !== undefined && length > 0,
  });
  if (data !== undefined && length > 0) {
    const mapped = buffer.getMappedRange();
    const view =
      dtype === 'f32'
        ? new Float32Array(mapped)
        : dtype === 'i32'
          ? new Int32Array(mapped)
          : new Uint32Array(mapped);
    view.set(arrayFor(dtype, data));
    buffer.unmap();
    ctx.counters.bytesWritten += length * 4;
  }
  return { buffer, shape: [...shape], dtype, length, label };
}

export function writeTensor(
  ctx: GpuContext,
  tensor: Tensor,
  data: ArrayLike<number>,
  offsetElements = 0,
): void {
  ctx.assertAlive();
  if (offsetElements + data.length > tensor.length) {
    throw new GpuError(
      'invalid-shape',
      `writeTensor "${tensor.label}": ${data.length} values at offset ${offsetElements} overflow ${tensor.length} elements`,
    );
  }
  if (data.length === 0) return;
  let array = arrayFor(tensor.dtype, data);
  // Dawn (and the WebGPU spec's BufferSource) does not take views of a SharedArrayBuffer,
  // which the ROSA workers write into; a plain copy is cheap next to the upload itself.
  if (typeof SharedArrayBuffer === 'function' && array.buffer instanceof SharedArrayBuffer)
    array = array.slice();
  ctx.writeBuffer(
    tensor.buffer,
    tensorOffset(tensor) + offsetElements * 4,
    array.buffer,
    array.byteOffset,
    array.byteLength,
  );
}

function emptyArrayFor<D extends DType>(dtype: D, length: number): TypedArrayFor<D> {
  return (
    dtype === 'f32'
      ? new Float32Array(length)
      : dtype === 'i32'
        ? new Int32Array(length)
        : new Uint32Array(length)
  ) as TypedArrayFor<D>;
}

/** Copies a tensor back to the CPU. Waits for all work queued before it. */
export async function readTensor<D extends DType>(
  ctx: GpuContext,
  tensor: Tensor<D>,
): Promise<TypedArrayFor<D>> {
  return (await readTensors(ctx, [tensor]))[0];
}

/**
 * Copies several tensors back with one submit and one map per staging buffer (a checkpoint
 * reads every parameter and both Adam moments: one round trip instead of hundreds). Staging
 * buffers are split at the device's maxBufferSize. Waits for all work queued before it.
 */
export async function readTensors<D extends DType>(
  ctx: GpuContext,
  tensors: ReadonlyArray<Tensor<D>>,
): Promise<Array<TypedArrayFor<D>>> {
  ctx.assertAlive();
  const out = tensors.map((t) => emptyArrayFor(t.dtype, t.length));
  const limit = ctx.device.limits.maxBufferSize;
  let first = 0;
  while (first < tensors.length) {
    // Tensors [first, end) share one staging buffer.
    let end = first;
    let bytes = 0;
    while (end < tensors.length && (end === first || bytes + tensors[end].length * 4 <= limit)) {
      bytes += tensors[end].length * 4;
      end++;
    }
    if (bytes > 0) await readGroup(ctx, tensors, out, first, end, bytes);
    first = end;
  }
  return out;
}

async function readGroup<D extends DType>(
  ctx: GpuContext,
  tensors: ReadonlyArray<Tensor<D>>,
  out: Array<TypedArrayFor<D>>,
  first: number,
  end: number,
  bytes: number,
): Promise<void> {
  const staging = ctx.device.createBuffer({
    label: `${tensors[first].label}${end - first > 1 ? ` +${end - first - 1}` : ''}:readback`,
    size: bytes,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const encoder = ctx.device.createCommandEncoder({ label: `read ${tensors[first].label}` });
  let offset = 0;
  for (let i = first; i < end; i++) {
    const n = tensors[i].length * 4;
    if (n > 0) encoder.copyBufferToBuffer(tensors[i].buffer, tensorOffset(tensors[i]), staging, offset, n);
    offset += n;
  }
  ctx.device.queue.submit([encoder.finish()]);
  ctx.counters.submits++;
  try {
    await ctx.mapRead(staging);
  } catch (err) {
    ctx.assertAlive();
    throw err;
  }
  const source = staging.getMappedRange();
  offset = 0;
  for (let i = first; i < end; i++) {
    const length = tensors[i].length;
    const view =
      tensors[i].dtype === 'f32' ? Float32Array : tensors[i].dtype === 'i32' ? Int32Array : Uint32Array;
    (out[i] as Float32Array | Int32Array | Uint32Array).set(new view(source, offset, length));
    offset += length * 4;
  }
  staging.unmap();
  staging.destroy();
}

/** Destroys the tensors' buffers (a slice's buffer belongs to its whole: destroy that one). */
export function destroyTensors(...tensors: Array<Tensor | undefined | null>): void {
  for (const t of tensors) if (t && t.byteOffset === undefined) t.buffer.destroy();
}

/** Elements [start, start + length) of a tensor (or slice) as a slice of the same buffer. */
export function sliceOf<D extends DType>(
  t: Tensor<D>,
  start: number,
  length: number,
  label: string,
): Tensor<D> {
  if (start < 0 || start + length > t.length) {
    throw new GpuError(
      'invalid-shape',
      `sliceOf "${t.label}": [${start}, ${start + length}) is out of range`,
    );
  }
  return {
    buffer: t.buffer,
    shape: [length],
    dtype: t.dtype,
    length,
    label,
    byteOffset: tensorOffset(t) + start * 4,
  };
}

/**
 * One slice covering `parts` when they are slices that follow one another in one buffer with
 * nothing between them but alignment padding (as tensorSlices lays them out); else null.
 */
export function spanOf<D extends DType>(
  ctx: GpuContext,
  parts: ReadonlyArray<Tensor<D>>,
  label: string,
): Tensor<D> | null {
  const first = parts[0];
  if (!first || first.byteOffset === undefined) return null;
  const align = Math.max(4, ctx.limits.minStorageBufferOffsetAlignment);
  let end = first.byteOffset;
  for (const t of parts) {
    if (
      t.buffer !== first.buffer ||
      t.dtype !== first.dtype ||
      t.byteOffset !== Math.ceil(end / align) * align
    )
      return null;
    end = t.byteOffset + t.length * 4;
  }
  const length = (end - first.byteOffset) / 4;
  return {
    buffer: first.buffer,
    shape: [length],
    dtype: first.dtype,
    length,
    label,
    byteOffset: first.byteOffset,
  };
}

/**
 * Equal-length slices of one buffer at equal distances (q/k/v weights or activations laid out
 * one after another): one tensor spanning them all and the distance in elements, so that a
 * batched kernel can take them in one dispatch. Null when they are not laid out that way.
 */
export function stridedSpan<D extends DType>(
  parts: ReadonlyArray<Tensor<D>>,
  label: string,
): { whole: Tensor<D>; stride: number } | null {
  const first = parts[0];
  if (!first || first.byteOffset === undefined) return null;
  const stride = parts.length > 1 ? (parts[1].byteOffset! - first.byteOffset) / 4 : first.length;
  if (!Number.isInteger(stride) || stride < first.length) return null;
  for (const [i, t] of parts.entries()) {
    if (
      t.buffer !== first.buffer ||
      t.dtype !== first.dtype ||
      t.length !== first.length ||
      t.byteOffset !== first.byteOffset + i * stride * 4
    )
      return null;
  }
  const length = (parts.length - 1) * stride + first.length;
  return {
    whole: {
      buffer: first.buffer,
      shape: [length],
      dtype: first.dtype,
      length,
      label,
      byteOffset: first.byteOffset,
    },
    stride,
  };
}

/**
 * Tensors of the given lengths as slices of one buffer, each starting on the device's storage
 * offset alignment (so each can be bound alone), in order. The gaps are never written by ops,
 * so they stay zero. `whole` is the buffer as one tensor (to clear or bind all at once);
 * null when it would exceed the device's per-binding limit.
 */
export function tensorSlices(
  ctx: GpuContext,
  lengths: readonly number[],
  label: string,
  names: readonly string[],
): { whole: Tensor<'f32'>; slices: Array<Tensor<'f32'>> } | null {
  const align = Math.max(4, ctx.limits.minStorageBufferOffsetAlignment) / 4;
  const starts: number[] = [];
  let next = 0;
  for (const n of lengths) {
    starts.push(next);
    next += Math.ceil(Math.max(1, n) / align) * align;
  }
  const limit = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
  if (next * 4 > limit) return null;
  const whole = createTensor(ctx, [next], 'f32', label);
  const slices = lengths.map(
    (n, i): Tensor<'f32'> => ({
      buffer: whole.buffer,
      shape: [n],
      dtype: 'f32',
      length: n,
      label: names[i] ?? `${label}[${i}]`,
      byteOffset: starts[i] * 4,
    }),
  );
  return { whole, slices };
}
