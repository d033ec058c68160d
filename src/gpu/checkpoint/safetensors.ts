// The safetensors format (the Hugging Face tensor file): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__?: {string: string}},
// then the raw little-endian tensor bytes. Reading validates everything and throws
// CheckpointError naming what was wrong, never a crash on a malformed file.

import { CheckpointError } from './errors.ts';
import { parseJsonBounded } from './json-guard.ts';

export { CheckpointError };

export type SafeDType = 'F32' | 'I32';

export interface NamedTensor {
  dtype: SafeDType;
  shape: number[];
  data: Float32Array | Int32Array;
}

const MAX_HEADER = 100 * 1024 * 1024;

export function encodeSafetensors(
  tensors: Record<string, NamedTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new CheckpointError(
        `tensor "${name}": shape [${t.shape}] holds ${count} values but data has ${t.data.length}`,
      );
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (allowed by the format).
  while ((8 + new TextEncoder().encode(json).length) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors[name];
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

export interface DecodedSafetensors {
  tensors: Record<string, NamedTensor>;
  metadata: Record<string, string>;
}

export function decodeSafetensors(bytes: Uint8Array, fileName = 'checkpoint'): DecodedSafetensors {
  if (bytes.byteLength < 8)
    throw new CheckpointError(`${fileName}: ${bytes.byteLength} bytes is too short for a safetensors file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen <= 1 || headerLen > MAX_HEADER || 8 + headerLen > bytes.byteLength) {
    throw new CheckpointError(
      `${fileName}: header length ${headerLen} does not fit a ${bytes.byteLength}-byte file (not a safetensors file?)`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch (err) {
    throw new CheckpointError(`${fileName}: the header is not valid UTF-8 (${(err as Error).message})`);
  }
  const header = parseJsonBounded(text, fileName, 'the header') as Record<string, unknown>;
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new CheckpointError(`${fileName}: the header must be a JSON object`);
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.byteLength - dataStart;
  const tensors: Record<string, NamedTensor> = {};
  let metadata: Record<string, string> = {};
  const spans: Array<[number, number, string]> = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      // The format allows only string → string here.
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
        throw new CheckpointError(`${fileName}: __metadata__ must be an object`);
      const bad = Object.entries(entry).find(([, v]) => typeof v !== 'string');
      if (bad) throw new CheckpointError(`${fileName}: __metadata__ "${bad[0]}" must be a string`);
      metadata = entry as Record<string, string>;
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new CheckpointError(
        `${fileName}: tensor "${name}" must be an object {dtype, shape, data_offsets}`,
      );
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e.dtype !== 'F32' && e.dtype !== 'I32') {
      throw new CheckpointError(
        `${fileName}: tensor "${name}" has dtype ${String(e.dtype)}; only F32 and I32 are supported`,
      );
    }
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new CheckpointError(`${fileName}: tensor "${name}" has an invalid shape`);
    }
    const offs = e.data_offsets;
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      !offs.every((o) => Number.isInteger(o) && o >= 0) ||
      offs[0] > offs[1]
    ) {
      throw new CheckpointError(`${fileName}: tensor "${name}" has invalid data_offsets`);
    }
    const [begin, end] = offs as [number, number];
    const count = (e.shape as number[]).reduce((a, b) => a * b, 1);
    if (end > dataLen)
      throw new CheckpointError(`${fileName}: tensor "${name}" runs past the end of the file (truncated?)`);
    if (end - begin !== count * 4) {
      throw new CheckpointError(
        `${fileName}: tensor "${name}" has ${end - begin} bytes for shape [${e.shape}] (${count * 4} expected)`,
      );
    }
    spans.push([begin, end, name]);
    const copy = bytes.slice(dataStart + begin, dataStart + end);
    const data = e.dtype === 'F32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer);
    tensors[name] = { dtype: e.dtype, shape: e.shape as number[], data };
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][0] < spans[i - 1][1]) {
      throw new CheckpointError(`${fileName}: tensors "${spans[i - 1][2]}" and "${spans[i][2]}" overlap`);
    }
  }
  return { tensors, metadata };
}
