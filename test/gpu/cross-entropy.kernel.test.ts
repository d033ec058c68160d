import { describe, expect, it } from 'vitest';
import { runBatch } from '../../src/gpu/batch.ts';
import {
  CE_STATS,
  createCrossEntropyOutputs,
  crossEntropy,
  crossEntropyWorkgroupSize,
  decodeCrossEntropyStats,
  readCrossEntropyStats,
} from '../../src/gpu/ops/cross-entropy.ts';
import { crossEntropyBackward, crossEntropyForward } from '../../src/gpu/reference/cross-entropy.ts';
import { createTensor, destroyTensors, readTensor } from '../../src/gpu/tensor.ts';
import { expectClose, testGpu } from '../harness/gpu.ts';
import { randomArray, randomInt, rng } from '../harness/random.ts';

// Logits in [-8, 8]. The loss is max + log Σ exp(l − max) − l_label in f32 with WGSL's exp
// (3 + 2|x| ulps) and log: a few ulps of |max| + |l_label| ≲ 16 → 1e-5 absolute.
// dlogits = (p − onehot)·k with p accurate to ~35 ulps at worst (|l − max| ≤ 16), k ≤ 1:
// 1e-6 absolute + 1e-4 relative. Correctness flags, the count and the number of correct rows
// compare the same f32 logits on both sides: exact.
const LOSS_TOL = { atol: 1e-5, rtol: 1e-5 };
const GRAD_TOL = { atol: 1e-6, rtol: 1e-4 };
// One invocation summing 151,936 exponentials serially in f32 (online softmax): the sum drifts
// by ~√V·ε ≈ 2e-5 relative, measured 1.5e-4 absolute on a loss near 8. 1e-3 still catches a
// wrong label or a missing share of the row (each moves the loss by ≳ 0.01).
const BIG_V_LOSS_TOL = { atol: 1e-3, rtol: 1e-5 };

function makeLabels(N: number, V: number, seed: number, ignoreRate = 0.3): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: N }, () => (r() < ignoreRate ? (r() < 0.5 ? -1 : -100) : randomInt(r, V)));
}

const CASES: Array<[number, number]> = [
  [1, 5],
  [7, 300],
  [64, 64],
  [130, 5],
  [130, 300],
  [9, 1500], // the 256-invocation workgroup
  [5, 1], // a one-word vocabulary: loss 0, always correct
];

describe('cross-entropy kernels vs CPU twin', () => {
  for (const [N, V] of CASES)
    for (const rows of ['workgroup', 'invocation'] as const) {
      it(`loss, gradient, correctness and stats N=${N} V=${V}, a ${rows} per row (workgroup size ${crossEntropyWorkgroupSize(V, rows)})`, async () => {
        const ctx = await testGpu();
        const logits = randomArray(N * V, N * 31 + V, 8);
        const labels = makeLabels(N, V, N + V);
        if (N > 1) {
          // A row whose label is the argmax, and one tied maximum (lowest index wins).
          labels[0] = 0;
          logits[0] = 9;
          if (V > 2) {
            labels[1] = 2;
            logits[V + 1] = 9;
            logits[V + 2] = 9;
          }
        }
        const scale = 0.5;
        const tLogits = createTensor(ctx, [N, V], 'f32', 'logits', logits);
        const tLabels = createTensor(ctx, [N], 'i32', 'labels', labels);
        const train = createCrossEntropyOutputs(ctx, { N, V }, true, 'train');
        const evalOut = createCrossEntropyOutputs(ctx, { N, V }, false, 'eval');
        await runBatch(ctx, 'cross-entropy', (batch) => {
          crossEntropy(batch, tLogits, tLabels, train, { N, V }, { scale, rows });
          crossEntropy(batch, tLogits, tLabels, evalOut, { N, V }, { rows });
        });
        const want = crossEntropyForward(logits, labels, N, V);
        for (const out of [train, evalOut]) {
          expectClose(await readTensor(ctx, out.losses), want.losses, LOSS_TOL, 'losses');
          expect(Array.from(await readTensor(ctx, out.correct))).toEqual(Array.from(want.correct));
          const stats = await readCrossEntropyStats(ctx, out.stats, { V });
          expect(stats.count).toBe(want.count);
          expect(stats.correctCount).toBe(want.correctCount);
          expect(stats.invalidLabels).toBe(0);
          expectClose(
            [stats.meanLoss, stats.lossSum, stats.accuracy],
            [want.meanLoss, want.lossSum, want.accuracy],
            LOSS_TOL,
            'stats',
          );
        }
        if (N > 1 && V > 2) expect(want.correct[1]).toBe(0); // the tie went to index 1, not the label 2
        const wantGrad = crossEntropyBackward(logits, labels, N, V, scale);
        expectClose(await readTensor(ctx, train.dlogits!), wantGrad, GRAD_TOL, 'dlogits');
        destroyTensors(
          tLogits,
          tLabels,
          train.losses,
          train.correct,
          train.stats,
          train.dlogits,
          evalOut.losses,
          evalOut.correct,
          evalOut.stats,
        );
      });
    }

  // Qwen2/Qwen3's vocabulary: more ids than one grid dimension holds (65,535), labels past 2^16.
  for (const rows of ['workgroup', 'invocation'] as const) {
    it(`a 151,936-word vocabulary (Qwen2/Qwen3), 2 rows, a ${rows} per row`, async () => {
      const ctx = await testGpu();
      const N = 2;
      const V = 151_936;
      const logits = randomArray(N * V, 151, 8);
      const labels = Int32Array.from([V - 1, 65_536]);
      logits[V + 65_536] = 9; // row 1's label is its argmax
      const tLogits = createTensor(ctx, [N, V], 'f32', 'logits', logits);
      const tLabels = createTensor(ctx, [N], 'i32', 'labels', labels);
      const out = createCrossEntropyOutputs(ctx, { N, V }, true);
      await runBatch(ctx, 'big vocabulary', (batch) =>
        crossEntropy(batch, tLogits, tLabels, out, { N, V }, { rows }),
      );
      const want = crossEntropyForward(logits, labels, N, V);
      expectClose(await readTensor(ctx, out.losses), want.losses, BIG_V_LOSS_TOL, 'losses');
      expect(Array.from(await readTensor(ctx, out.correct))).toEqual([0, 1]);
      const stats = await readCrossEntropyStats(ctx, out.stats, { V });
      expect(stats.count).toBe(2);
      expect(stats.invalidLabels).toBe(0);
      const grad = await readTensor(ctx, out.dlogits!);
      expectClose(grad, crossEntropyBackward(logits, labels, N, V), GRAD_TOL, 'dlogits');
      // The label's gradient is (p − 1) / 2 rows ≈ −0.5, far from every other entry's p / 2 > 0.
      expect(grad[V - 1]).toBeLessThan(-0.49);
      destroyTensors(tLogits, tLabels, out.losses, out.correct, out.stats, out.dlogits);
    });
  }

  it('all rows ignored: zero loss, zero gradient, count 0', async () => {
    const ctx = await testGpu();
    const N = 6;
    const V = 7;
    const tLogits = createTensor(ctx, [N, V], 'f32', 'logits', randomArray(N * V, 3, 4));
    const tLabels = createTensor(ctx, [N], 'i32', 'labels', new Int32Array(N).fill(-1));
    const out = createCrossEntropyOutputs(ctx, { N, V }, true);
    await runBatch(ctx, 'all ignored', (batch) => crossEntropy(batch, tLogits, tLabels, out, { N, V }));
    const stats = await readCrossEntropyStats(ctx, out.stats);
    expect(stats).toEqual({
      meanLoss: 0,
      count: 0,
      correctCount: 0,
      accuracy: 0,
      lossSum: 0,
      invalidLabels: 0,
    });
    expect(Array.from(await readTensor(ctx, out.dlogits!)).every((g) => g === 0)).toBe(true);
    destroyTensors(tLogits, tLabels, out.losses, out.correct, out.stats, out.dlogits);
  });

  it('counts labels ≥ V as invalid, ignores those rows, and the read-back reports them', async () => {
    const ctx = await testGpu();
    const N = 5;
    const V = 4;
    const logits = randomArray(N * V, 8, 3);
    const labels = Int32Array.from([1, 4, -1, 9, 3]);
    const tLogits = createTensor(ctx, [N, V], 'f32', 'logits', logits);
    const tLabels = createTensor(ctx, [N], 'i32', 'labels', labels);
    const out = createCrossEntropyOutputs(ctx, { N, V }, true);
    await runBatch(ctx, 'invalid labels', (batch) =>
      crossEntropy(batch, tLogits, tLabels, out, { N, V }, { rows: 'invocation' }),
    );
    const raw = decodeCrossEntropyStats(await readTensor(ctx, out.stats));
    expect(raw.invalidLabels).toBe(2);
    expect(raw.count).toBe(2);
    const valid = Int32Array.from([1, -1, -1, -1, 3]);
    expectClose(
      [raw.meanLoss],
      [crossEntropyForward(logits, valid, N, V).meanLoss],
      LOSS_TOL,
      'mean of valid rows',
    );
    const grad = await readTensor(ctx, out.dlogits!);
    expectClose(grad, crossEntropyBackward(logits, valid, N, V), GRAD_TOL, 'dlogits');
    await expect(readCrossEntropyStats(ctx, out.stats, { V })).rejects.toThrow(
      /2 labels were ≥ the vocabulary size V = 4/,
    );
    expect(CE_STATS.invalidLabels).toBe(5);
    destroyTensors(tLogits, tLabels, out.losses, out.correct, out.stats, out.dlogits);
  });

  it('refuses mismatched shapes and dtypes', async () => {
    const ctx = await testGpu();
    const logits = createTensor(ctx, [3, 4], 'f32', 'logits');
    const labelsF = createTensor(ctx, [3], 'f32', 'labels as f32');
    const labels = createTensor(ctx, [3], 'i32', 'labels');
    const out = createCrossEntropyOutputs(ctx, { N: 3, V: 4 }, true);
    await runBatch(ctx, 'errors', (batch) => {
      expect(() => crossEntropy(batch, logits, labelsF, out, { N: 3, V: 4 })).toThrow(
        /labels as f32" has dtype f32, needs i32/,
      );
      expect(() => crossEntropy(batch, logits, labels, out, { N: 3, V: 5 })).toThrow(
        /logits "logits" has 12 elements, needs 15/,
      );
    });
    destroyTensors(logits, labelsF, labels, out.losses, out.correct, out.stats, out.dlogits);
  });
});
