import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  decodeSafetensors,
  encodeSafetensors,
} from '../../../src/gpu/checkpoint/safetensors.ts';

describe('safetensors', () => {
  const tensors = {
    'layers.0.wq': { dtype: 'F32' as const, shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 4, 5, 6]) },
    step: { dtype: 'I32' as const, shape: [1], data: Int32Array.from([42]) },
    empty: { dtype: 'F32' as const, shape: [0], data: new Float32Array(0) },
  };

  it('round-trips tensors and metadata, with 8-byte aligned data', () => {
    const bytes = encodeSafetensors(tensors, { format: 'rosa-playground' });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLen) % 8).toBe(0);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ format: 'rosa-playground' });
    expect(Array.from(back.tensors['layers.0.wq'].data)).toEqual([1, -2, 3.5, 4, 5, 6]);
    expect(back.tensors['layers.0.wq'].shape).toEqual([2, 3]);
    expect(Array.from(back.tensors.step.data)).toEqual([42]);
    expect(back.tensors.empty.data.length).toBe(0);
  });

  it('rejects malformed files with a clear CheckpointError', () => {
    const good = encodeSafetensors(tensors);
    const cases: Array<[Uint8Array, RegExp]> = [
      [new Uint8Array(3), /too short/],
      [new TextEncoder().encode('this is not a checkpoint at all'), /header length/],
      [good.slice(0, good.length - 4), /truncated/],
    ];
    const badJson = good.slice();
    badJson[9] = 0x7b; // '{{' breaks the JSON
    badJson[8] = 0x7b;
    badJson[10] = 0x7b;
    cases.push([badJson, /not valid JSON/]);
    for (const [bytes, message] of cases) {
      expect(() => decodeSafetensors(bytes, 'model.safetensors')).toThrow(CheckpointError);
      expect(() => decodeSafetensors(bytes, 'model.safetensors')).toThrow(message);
    }
  });

  it('rejects wrong sizes, dtypes and overlapping tensors', () => {
    const make = (header: object, dataBytes: number) => {
      const json = new TextEncoder().encode(JSON.stringify(header));
      const out = new Uint8Array(8 + json.length + dataBytes);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      return out;
    };
    expect(() =>
      decodeSafetensors(make({ a: { dtype: 'F16', shape: [1], data_offsets: [0, 2] } }, 2)),
    ).toThrow(/dtype F16/);
    expect(() =>
      decodeSafetensors(make({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8)),
    ).toThrow(/8 bytes/);
    expect(() =>
      decodeSafetensors(
        make(
          {
            a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
            b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
          },
          12,
        ),
      ),
    ).toThrow(/overlap/);
    expect(() => encodeSafetensors({ a: { dtype: 'F32', shape: [4], data: new Float32Array(3) } })).toThrow(
      CheckpointError,
    );
  });
});
