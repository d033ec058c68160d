// Reading safetensors files written by other tools (transformers, safetensors, …): F32, F16
// and BF16 tensors, all converted to Float32Array. Writing goes through the checkpoint
// module's encoder (F32 only), with the `format: pt` metadata transformers expects.

import { encodeSafetensors, type NamedTensor } from '../gpu/checkpoint/safetensors.ts';
import { HfImportError } from './errors.ts';

export interface FloatTensor {
  /** The dtype in the file (the data is always f32 here). */
  dtype: 'F32' | 'F16' | 'BF16';
  shape: number[];
  data: Float32Array;
}

const BYTES = { F32: 4, F16: 2, BF16: 2 } as const;

/** IEEE half → number (exact: every f16 is an f32). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function convert(dtype: FloatTensor['dtype'], bytes: Uint8Array, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  if (dtype === 'F32') for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  else if (dtype === 'F16') for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  else {
    // bfloat16 is the top half of an f32.
    const u32 = new Uint32Array(count);
    for (let i = 0; i < count; i++) u32[i] = view.getUint16(2 * i, true) << 16;
    out.set(new Float32Array(u32.buffer));
  }
  return out;
}

export function readSafetensors(
  bytes: Uint8Array,
  fileName: string,
): { tensors: Map<string, FloatTensor>; metadata: Record<string, string> } {
  const bad = (message: string): never => {
    throw new HfImportError('file', `${fileName}: ${message}`);
  };
  if (bytes.byteLength < 8) bad(`${bytes.byteLength} bytes is too short for a safetensors file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen < 2 || 8 + headerLen > bytes.byteLength)
    bad(`header length ${headerLen} does not fit the file`);
  let header: Record<string, unknown> = {};
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (err) {
    bad(`the header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    bad('the header is not an object');
  const dataStart = 8 + headerLen;
  const tensors = new Map<string, FloatTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = Object.fromEntries(Object.entries((entry ?? {}) as object).map(([k, v]) => [k, String(v)]));
      continue;
    }
    const e = (entry ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = String(e.dtype);
    if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') {
      throw new HfImportError(
        'dtype',
        `${fileName}: tensor "${name}" is ${dtype}; only F32, F16 and BF16 can be imported`,
      );
    }
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      bad(`tensor "${name}" has an invalid shape`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0))
      bad(`tensor "${name}" has invalid data_offsets`);
    const [begin, end] = offs as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== count * BYTES[dtype] || dataStart + end > bytes.byteLength)
      bad(`tensor "${name}" has ${end - begin} bytes for shape [${shape}] ${dtype} (truncated file?)`);
    tensors.set(name, {
      dtype,
      shape: shape as number[],
      data: convert(dtype, bytes.subarray(dataStart + begin, dataStart + end), count),
    });
  }
  return { tensors, metadata };
}

/** An F32 safetensors file that transformers' loader accepts (it wants `format` metadata). */
export function writeSafetensors(tensors: Map<string, { shape: number[]; data: Float32Array }>): Uint8Array {
  const named: Record<string, NamedTensor> = {};
  for (const [name, t] of tensors) named[name] = { dtype: 'F32', shape: t.shape, data: t.data };
  return encodeSafetensors(named, { format: 'pt' });
}
