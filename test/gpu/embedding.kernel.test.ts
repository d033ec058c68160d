import { describe, expect, it } from 'vitest';
import { runBatch } from '../../src/gpu/batch.ts';
import {
  createTokenBuffers,
  destroyTokenBuffers,
  embeddingBackward,
  embeddingForward,
  writeTokens,
} from '../../src/gpu/ops/embedding.ts';
import {
  embeddingBackward as embeddingBackwardRef,
  embeddingForward as embeddingForwardRef,
} from '../../src/gpu/reference/embedding.ts';
import { createTensor, destroyTensors, readTensor } from '../../src/gpu/tensor.ts';
import { expectClose, testGpu } from '../harness/gpu.ts';
import { randomArray, randomInt, rng } from '../harness/random.ts';

// Forward is a copy: exact. Backward sums up to ~110 rows per id in f32, in the same
// (position) order as the twin, which sums in float64: the f32 error grows like
// √k·ε·Σ|dout| ≲ 1e-6 here; 1e-5 absolute + relative leaves margin without hiding a
// missing or doubled row (an error of order 0.1–1).
const EXACT = { atol: 0, rtol: 0 };
const TOL = { atol: 1e-5, rtol: 1e-5 };

/** Ids with a skew: about `hot` of the positions take id 1, the rest are uniform. */
function makeTokens(N: number, V: number, seed: number, hot = 0.6): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: N }, () => (V > 1 && r() < hot ? 1 : randomInt(r, V)));
}

const CASES: Array<[number, number, number]> = [
  [1, 8, 5],
  [7, 12, 300],
  [64, 64, 64],
  [130, 12, 5],
  [130, 8, 300],
];

describe('embedding kernels vs CPU twin', () => {
  for (const [N, C, V] of CASES) {
    it(`forward and backward N=${N} C=${C} V=${V}`, async () => {
      const ctx = await testGpu();
      const ids = makeTokens(N, V, N * 7 + V);
      const table = randomArray(V * C, N + C + V);
      const dout = randomArray(N * C, N + C + V + 1);
      const prior = randomArray(V * C, N + C + V + 2);
      const tokens = createTokenBuffers(ctx, N, V);
      writeTokens(ctx, tokens, ids);
      const tTable = createTensor(ctx, [V, C], 'f32', 'table', table);
      const out = createTensor(ctx, [N, C], 'f32', 'out');
      const tDout = createTensor(ctx, [N, C], 'f32', 'dout', dout);
      const dTable = createTensor(ctx, [V, C], 'f32', 'dTable', randomArray(V * C, 99)); // overwritten
      const dAcc = createTensor(ctx, [V, C], 'f32', 'dTable acc', prior);
      const shape = { N, C, V };
      await runBatch(ctx, 'embedding', (batch) => {
        embeddingForward(batch, tokens.tokens, tTable, out, shape);
        embeddingBackward(batch, tokens, tDout, dTable, shape);
        embeddingBackward(batch, tokens, tDout, dAcc, shape, { accumulate: true });
      });
      expectClose(await readTensor(ctx, out), embeddingForwardRef(ids, table, N, C, V), EXACT, 'out');
      const want = embeddingBackwardRef(ids, dout, N, C, V);
      expectClose(await readTensor(ctx, dTable), want, TOL, 'dTable');
      expectClose(
        await readTensor(ctx, dAcc),
        embeddingBackwardRef(ids, dout, N, C, V, prior.slice()),
        TOL,
        'dTable acc',
      );
      destroyTokenBuffers(tokens);
      destroyTensors(tTable, out, tDout, dTable, dAcc);
    });
  }

  // Qwen2/Qwen3's vocabulary. Width 2: ids past 2^16 and a 152k-entry offsets list. Width 112:
  // V·C / 256 = 66,472 workgroups, more than one grid dimension holds, so the grid is 2-D.
  for (const C of [2, 112]) {
    it(`a 151,936-word vocabulary (Qwen2/Qwen3), 2 rows, width ${C}`, async () => {
      const ctx = await testGpu();
      const N = 2;
      const V = 151_936;
      const ids = Int32Array.from([V - 1, 65_536]);
      const table = randomArray(V * C, 17 + C);
      const dout = randomArray(N * C, 18 + C);
      const tokens = createTokenBuffers(ctx, N, V);
      writeTokens(ctx, tokens, ids);
      const tTable = createTensor(ctx, [V, C], 'f32', 'table', table);
      const out = createTensor(ctx, [N, C], 'f32', 'out');
      const tDout = createTensor(ctx, [N, C], 'f32', 'dout', dout);
      const dTable = createTensor(ctx, [V, C], 'f32', 'dTable', randomArray(V * C, 99)); // overwritten
      const shape = { N, C, V };
      await runBatch(ctx, 'embedding big vocabulary', (batch) => {
        embeddingForward(batch, tokens.tokens, tTable, out, shape);
        embeddingBackward(batch, tokens, tDout, dTable, shape);
      });
      expectClose(await readTensor(ctx, out), embeddingForwardRef(ids, table, N, C, V), EXACT, 'out');
      const got = await readTensor(ctx, dTable);
      expectClose(got, embeddingBackwardRef(ids, dout, N, C, V), TOL, 'dTable');
      // The last id's row carries row 0's gradient (the end of a 2-D grid is reached).
      expectClose(got.subarray((V - 1) * C), dout.subarray(0, C), EXACT, 'last row');
      destroyTokenBuffers(tokens);
      destroyTensors(tTable, out, tDout, dTable);
    });
  }

  it('rewriting tokens rebuilds the lists (one id for every row, then all distinct)', async () => {
    const ctx = await testGpu();
    const N = 40;
    const C = 8;
    const V = 64;
    const tokens = createTokenBuffers(ctx, N, V);
    const dout = randomArray(N * C, 5);
    const tDout = createTensor(ctx, [N, C], 'f32', 'dout', dout);
    const dTable = createTensor(ctx, [V, C], 'f32', 'dTable');
    for (const ids of [new Int32Array(N).fill(63), Int32Array.from({ length: N }, (_, n) => n)]) {
      writeTokens(ctx, tokens, ids);
      await runBatch(ctx, 'embedding backward', (batch) =>
        embeddingBackward(batch, tokens, tDout, dTable, { N, C, V }),
      );
      expectClose(await readTensor(ctx, dTable), embeddingBackwardRef(ids, dout, N, C, V), TOL, 'dTable');
    }
    destroyTokenBuffers(tokens);
    destroyTensors(tDout, dTable);
  });

  it('refuses token ids outside [0, V) before upload', async () => {
    const ctx = await testGpu();
    const tokens = createTokenBuffers(ctx, 3, 10);
    expect(() => writeTokens(ctx, tokens, Int32Array.from([1, 10, 2]))).toThrow(
      /tokens\[1\] = 10 is not a token id in \[0, 10\)/,
    );
    expect(() => writeTokens(ctx, tokens, Int32Array.from([1, 2]))).toThrow(/2 ids given, .* N = 3/);
    destroyTokenBuffers(tokens);
  });
});
