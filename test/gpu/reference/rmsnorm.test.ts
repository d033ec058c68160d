import { describe, expect, it } from 'vitest';
import { rmsnormBackward, rmsnormForward } from '../../../src/gpu/reference/rmsnorm.ts';
import { expectClose } from '../../harness/compare.ts';
import { dot, numericGradient, random64 } from './finite-difference.ts';

// Float64 twin, h = 1e-5: FD error ~1e-10 for gradients of order 1; 1e-7 (abs + rel) is far
// above that noise and far below any formula mistake (which shows up at ~1e-2).
const TOL = { atol: 1e-7, rtol: 1e-7 };

describe('rmsnorm twin', () => {
  it('normalises each row to unit root-mean-square before the gain', () => {
    const N = 3;
    const C = 5;
    const x = random64(N * C, 10, 3);
    const w = new Float64Array(C).fill(1);
    const { y, rstd } = rmsnormForward(x, w, N, C, 0);
    for (let n = 0; n < N; n++) {
      let ms = 0;
      for (let c = 0; c < C; c++) ms += y[n * C + c] ** 2 / C;
      expect(ms).toBeCloseTo(1, 12);
      let xs = 0;
      for (let c = 0; c < C; c++) xs += x[n * C + c] ** 2 / C;
      expect(rstd[n]).toBeCloseTo(1 / Math.sqrt(xs), 12);
    }
  });

  it('eps keeps a zero row finite', () => {
    const { y, rstd } = rmsnormForward(new Float32Array(4), Float32Array.from([1, 1, 1, 1]), 1, 4);
    expect(Array.from(y)).toEqual([0, 0, 0, 0]);
    expect(rstd[0]).toBeCloseTo(1000, 2);
  });

  for (const [N, C, eps] of [
    [4, 6, 1e-6],
    [1, 1, 1e-6],
    [3, 7, 0.5],
  ] as const) {
    it(`dx and dw match finite differences (N=${N} C=${C} eps=${eps})`, () => {
      const x = random64(N * C, N * 100 + C);
      const w = random64(C, N * 100 + C + 1, 2);
      const g = random64(N * C, N * 100 + C + 2);
      const { rstd } = rmsnormForward(x, w, N, C, eps);
      const { dx, dw } = rmsnormBackward(x, w, rstd, g, N, C);
      const loss = () => dot(g, rmsnormForward(x, w, N, C, eps).y);
      expectClose(dx, numericGradient(loss, x), TOL, 'dx');
      expectClose(dw, numericGradient(loss, w), TOL, 'dw');
    });
  }

  it('accumulates dx and dw into given arrays', () => {
    const N = 2;
    const C = 3;
    const x = random64(N * C, 5);
    const w = random64(C, 6);
    const dy = random64(N * C, 7);
    const { rstd } = rmsnormForward(x, w, N, C);
    const fresh = rmsnormBackward(x, w, rstd, dy, N, C);
    const dx0 = random64(N * C, 8);
    const dw0 = random64(C, 9);
    const dx = dx0.slice();
    const dw = dw0.slice();
    rmsnormBackward(x, w, rstd, dy, N, C, { dx, dw });
    expectClose(
      dx,
      dx0.map((v, i) => v + fresh.dx[i]),
      TOL,
      'dx accumulated',
    );
    expectClose(
      dw,
      dw0.map((v, i) => v + fresh.dw[i]),
      TOL,
      'dw accumulated',
    );
  });
});
