import { describe, expect, it } from 'vitest';
import { rng } from '../../../src/common/random.ts';
import { CpuBackend } from '../../../src/gpu/model/cpu-backend.ts';
import { matmulReference } from '../../../src/gpu/reference/matmul.ts';

// CpuBackend.linear with a residual (y = residual + x·Wᵀ, run as one accumulating matmul) against
// the float64 twin: a separate residual, the residual being y itself, and with accumulate (the
// axpy route). Tolerance as in matmul.test.ts: (K + 2)·2⁻²⁴·(|x|·|Wᵀ| + |r|) + 2⁻²⁴·|ref|.

const U = 2 ** -24;

function random(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

describe('CpuBackend.linear with a residual', () => {
  const backend = new CpuBackend();
  // rows past a 4-row tile, outDim not a multiple of 8, inDim past the 256 K block.
  for (const [rows, inDim, outDim] of [
    [1, 1, 1],
    [7, 13, 5],
    [9, 300, 19],
  ]) {
    for (const mode of ['separate', 'in place', 'accumulate'] as const) {
      it(`${rows}×${inDim} → ${outDim}, ${mode}`, () => {
        const x = random(rows * inDim, rows);
        const w = random(outDim * inDim, inDim);
        const r = random(rows * outDim, outDim);
        const y0 = random(rows * outDim, 99);
        const shape = { M: rows, N: outDim, K: inDim, transB: true };
        // ref = r (+ y0 when accumulating) + x·Wᵀ, in float64.
        const ref = Float64Array.from(r, (v, i) => v + (mode === 'accumulate' ? y0[i] : 0));
        const base = matmulReference(x, w, shape);
        const bound = matmulReference(x.map(Math.abs), w.map(Math.abs), shape);
        for (let i = 0; i < ref.length; i++) {
          ref[i] += base[i];
          bound[i] += Math.abs(r[i]) + (mode === 'accumulate' ? Math.abs(y0[i]) : 0);
        }
        const dims = { rows, inDim, outDim };
        let y: Float32Array;
        if (mode === 'in place') {
          y = Float32Array.from(r);
          backend.linear({ x, w }, { y }, dims, { residual: y });
        } else {
          y =
            mode === 'accumulate' ? Float32Array.from(y0) : new Float32Array(rows * outDim).fill(Number.NaN);
          backend.linear({ x, w }, { y }, dims, { residual: r, accumulate: mode === 'accumulate' });
        }
        for (let i = 0; i < ref.length; i++) {
          const tol = (inDim + 2) * U * bound[i] + U * Math.abs(ref[i]) + 1e-30;
          expect(Math.abs(y[i] - ref[i]), `element ${i}`).toBeLessThanOrEqual(tol);
        }
      });
    }
  }
});
