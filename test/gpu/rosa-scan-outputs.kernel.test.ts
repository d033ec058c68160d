import { describe, expect, it } from 'vitest';
import { runBatch } from '../../src/gpu/batch.ts';
import type { GpuContext } from '../../src/gpu/context.ts';
import { GpuError } from '../../src/gpu/errors.ts';
import { GpuBackend } from '../../src/gpu/model/gpu-backend.ts';
import { inlineScanner } from '../../src/gpu/model/scanners.ts';
import { createScanTensors, destroyScanTensors, type RosaScanTensors } from '../../src/gpu/ops/rosa.ts';
import { rosaBuildInverseLists, rosaWidenScan } from '../../src/gpu/ops/rosa-scan-outputs.ts';
import { type RosaDims, rosaSignPackReference, scanShapeOf } from '../../src/gpu/reference/rosa.ts';
import { widenNarrowScanReference } from '../../src/gpu/reference/rosa-scan-outputs.ts';
import { createTensor, destroyTensors, readTensor, type Tensor, writeTensor } from '../../src/gpu/tensor.ts';
import {
  allocateScanOutputs,
  buildInverseIndices,
  NARROW_SCAN_MAX_T,
  type NarrowScanLayout,
  narrowScanMaxWords,
  packNarrowScan,
  type RosaMode,
  type ScanOutputs,
  UPLOADED_SCAN_FIELDS,
} from '../../src/rosa-worker/layout.ts';
import { scanLanes } from '../../src/rosa-worker/scan.ts';
import { testGpu } from '../harness/gpu.ts';
import { activations, randomScanOutputs } from '../harness/rosa-fixtures.ts';
import { randomBatch } from '../rosa-worker/batch-helpers.ts';

// Integer kernels: every output must equal the twin exactly (widen: the uploaded arrays;
// inverse_lists: buildInverseIndices, positions in the same order).

let ctx: GpuContext;

const FIELDS = Object.keys(allocateScanOutputs({ lanes: 0, T: 0, bits: 1 })) as Array<keyof ScanOutputs>;

/** Real scan outputs (random, run-heavy and periodic lanes) for `dims`, inverse lists by the CPU. */
function scanned(dims: RosaDims, mode: RosaMode, seed: number): ScanOutputs {
  const shape = scanShapeOf(dims);
  const out = allocateScanOutputs(shape);
  scanLanes(randomBatch(shape, mode, seed), out);
  return out;
}

/** Junk in every scan tensor, so that an element the kernels skip cannot pass. */
function junk(dims: RosaDims): ScanOutputs {
  const out = randomScanOutputs(dims, 99);
  for (const f of FIELDS) out[f].fill(-7 - FIELDS.indexOf(f));
  return out;
}

async function readScan(scan: RosaScanTensors): Promise<ScanOutputs> {
  const out = {} as ScanOutputs;
  for (const f of FIELDS) out[f] = (await readTensor(ctx, scan[f])) as Int32Array;
  return out;
}

/** Field widths seen by onGpu (bit f of layout.wide): both u8 and u16 must be exercised. */
const widthsSeen = new Set<string>();

/** The narrow upload widened and the inverse lists built on the GPU, as the backend records them. */
async function onGpu(
  want: ScanOutputs,
  dims: RosaDims,
): Promise<{ got: ScanOutputs; packed: Uint32Array; layout: NarrowScanLayout }> {
  const shape = scanShapeOf(dims);
  const { packed, layout } = packNarrowScan(want, shape);
  for (const [f, field] of UPLOADED_SCAN_FIELDS.entries()) {
    widthsSeen.add(`${field}:${(layout.wide >> f) & 1 ? 'u16' : 'u8'}`);
  }
  const words = Math.max(1, narrowScanMaxWords(shape));
  // Sized for the widest layout, as the backend's scratch is; only the used words are written.
  const packedT = createTensor(ctx, [words], 'u32', 'packed');
  writeTensor(ctx, packedT, packed.subarray(0, layout.words));
  const scan = createScanTensors(ctx, dims, junk(dims));
  await runBatch(ctx, 'rosa scan outputs test', (batch) => {
    rosaWidenScan(batch, packedT, layout, scan, shape);
    rosaBuildInverseLists(batch, scan, shape);
  });
  const got = await readScan(scan);
  destroyTensors(packedT);
  destroyScanTensors(scan);
  return { got, packed, layout };
}

// Awkward shapes: one lane of one step, odd element counts (a half-used last word), lanes past
// one workgroup of the per-lane kernels (32), 8 bits, T not a multiple of 4.
const shapes: Array<[string, RosaDims]> = [
  ['1 lane, T 1', { B: 1, T: 1, C: 1, bits: 1 }],
  ['3 lanes, T 7, 3 bits (odd element count)', { B: 1, T: 7, C: 9, bits: 3 }],
  ['37 lanes, T 203, 1 bit', { B: 37, T: 203, C: 1, bits: 1 }],
  ['2 × 4 lanes, T 130, 8 bits', { B: 2, T: 130, C: 32, bits: 8 }],
  ['5 × 8 lanes, T 64, 4 bits', { B: 5, T: 64, C: 32, bits: 4 }],
  ['2 lanes, T 301, 2 bits (indices past 254: u16 fields)', { B: 1, T: 301, C: 4, bits: 2 }],
];
const modes: RosaMode[] = ['rosa-tuning', 'exact', 'rwkv8'];

describe('ROSA scan outputs on the GPU (widen, inverse lists) vs CPU twins', () => {
  it('gets a WebGPU adapter', async () => {
    ctx = await testGpu();
    expect(ctx.adapter.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
  });

  for (const [name, dims] of shapes) {
    it.each(modes)(`${name}, %s scan: every array equals the CPU's`, async (mode) => {
      ctx = await testGpu();
      const want = scanned(dims, mode, dims.T * 7 + dims.B);
      const { got, packed, layout } = await onGpu(want, dims);
      const widened = widenNarrowScanReference(packed, layout, scanShapeOf(dims));
      for (const f of UPLOADED_SCAN_FIELDS) expect(widened[f], `twin ${f}`).toEqual(want[f]);
      for (const f of FIELDS) expect(got[f], f).toEqual(want[f]);
    });
  }

  it('the shapes above sent every field both as u8 and as u16', () => {
    for (const field of UPLOADED_SCAN_FIELDS) {
      expect(widthsSeen.has(`${field}:u8`), `${field} as u8`).toBe(true);
      expect(widthsSeen.has(`${field}:u16`), `${field} as u16`).toBe(true);
    }
  });

  it('synthetic outputs with long runs and sparse counterfactuals (the kernel-test fixtures)', async () => {
    ctx = await testGpu();
    const dims = { B: 3, T: 97, C: 12, bits: 2 };
    const want = randomScanOutputs(dims, 5);
    const { got } = await onGpu(want, dims);
    for (const f of FIELDS) expect(got[f], f).toEqual(want[f]);
  });

  it('buildInverseIndices (the twin) is what the GPU reproduces, not a copy of its input', async () => {
    // Inverse lists cleared on the CPU side: the GPU must rebuild them from dest, qRunId, rcf.
    ctx = await testGpu();
    const dims = { B: 2, T: 50, C: 8, bits: 4 };
    const full = scanned(dims, 'rosa-tuning', 3);
    const partial = allocateScanOutputs(scanShapeOf(dims));
    for (const f of UPLOADED_SCAN_FIELDS) partial[f].set(full[f]);
    const { got } = await onGpu(partial, dims);
    const rebuilt = allocateScanOutputs(scanShapeOf(dims));
    for (const f of UPLOADED_SCAN_FIELDS) rebuilt[f].set(full[f]);
    buildInverseIndices(rebuilt, scanShapeOf(dims));
    expect(got).toEqual(rebuilt);
    expect(got).toEqual(full);
  });

  it('GpuBackend.rosaScan: only the u16 scan goes up, and the GPU holds what the CPU scan builds', async () => {
    ctx = await testGpu();
    const dims = { B: 3, T: 45, C: 12, bits: 4 };
    const shape = scanShapeOf(dims);
    const n = dims.B * dims.T * dims.C;
    const q = activations(n, 1);
    const k = activations(n, 2);
    const backend = new GpuBackend(ctx);
    const qT = backend.upload(q, 'q');
    const kT = backend.upload(k, 'k');
    const scanner = inlineScanner();
    const first = await backend.rosaScan({ q: qT, k: kT }, dims, { mode: 'rosa-tuning', scanner });
    backend.flush();
    ctx.counters.reset();
    // A second scan into the same tensors (as every step after the first does).
    const again = await backend.rosaScan({ q: qT, k: kT }, dims, {
      mode: 'rosa-tuning',
      scanner,
      reuse: first,
    });
    backend.flush();
    const want = allocateScanOutputs(shape);
    const sym = (x: Float32Array) => rosaSignPackReference(x, dims);
    scanLanes({ mode: 'rosa-tuning', shape, qSym: sym(q), kSym: sym(k) }, want);
    // Besides the narrow upload only the dispatches' uniform blocks (under 1 KiB here); the i32
    // scan with its inverse lists was 47 KB at this shape.
    const narrowBytes = packNarrowScan(want, shape).layout.words * 4;
    expect(narrowBytes).toBeLessThan(47_052 / 8);
    expect(ctx.counters.bytesWritten).toBeGreaterThanOrEqual(narrowBytes);
    expect(ctx.counters.bytesWritten).toBeLessThan(narrowBytes + 1024);
    const got = {} as ScanOutputs;
    for (const f of FIELDS) got[f] = (await readTensor(ctx, again[f] as Tensor<'i32'>)) as Int32Array;
    expect(got).toEqual(want);
    backend.free(qT, kT);
    backend.free(...FIELDS.map((f) => first[f]));
  });

  it('rejects a T over the u16 range and tensors of the wrong type or size, naming them', async () => {
    ctx = await testGpu();
    const big = { lanes: 1, T: NARROW_SCAN_MAX_T + 1, bits: 1 };
    expect(() => packNarrowScan(allocateScanOutputs(big), big)).toThrow(/T = 65536 is over 65535/);
    const dims = { B: 1, T: 8, C: 4, bits: 2 };
    const shape = scanShapeOf(dims);
    const scan = createScanTensors(ctx, dims);
    const { layout } = packNarrowScan(allocateScanOutputs(shape), shape);
    const wrongType = createTensor(ctx, [layout.words], 'i32', 'packed-i32');
    const short = createTensor(ctx, [layout.words - 1], 'u32', 'packed-short');
    await runBatch(ctx, 'rejects', (batch) => {
      expect(() => rosaWidenScan(batch, wrongType, layout, scan, shape)).toThrow(GpuError);
      expect(() => rosaWidenScan(batch, wrongType, layout, scan, shape)).toThrow(
        /packed "packed-i32" has dtype i32/,
      );
      expect(() => rosaWidenScan(batch, short, layout, scan, shape)).toThrow(
        `packed "packed-short" has ${layout.words - 1} elements, needs ${layout.words}`,
      );
      const tooLong = { ...layout, words: narrowScanMaxWords(shape) + 1 };
      expect(() => rosaWidenScan(batch, short, tooLong, scan, shape)).toThrow(/layout.words = \d+ is over/);
      expect(() => rosaBuildInverseLists(batch, scan, { ...shape, T: 9 })).toThrow(/scan.dest .* needs 18/);
    });
    destroyTensors(wrongType, short);
    destroyScanTensors(scan);
  });
});
