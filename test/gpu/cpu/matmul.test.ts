import { describe, expect, it } from 'vitest';
import { rng } from '../../../src/common/random.ts';
import { createSimdGemm } from '../../../src/gpu/cpu/gemm-simd.ts';
import { matmulFast, matmulUsesSimd } from '../../../src/gpu/cpu/matmul.ts';
import { type MatmulShape, matmulReference } from '../../../src/gpu/reference/matmul.ts';

// The fast matmul against its float64 twin. Tolerance, per element: the fast kernel sums K
// products in float32 (SIMD lanes, then K blocks of 256 added in C), so by the standard bound
// |fast − exact| ≤ γ_K · (|A|·|B|)_ij with γ_K ≈ K·2⁻²⁴, plus one rounding of the stored result
// (and of the accumulated C). The reference (float64 sums, one final rounding) is within
// 2⁻²⁴·|exact| of exact. So: |fast − ref| ≤ (K + 2)·2⁻²⁴·(|A|·|B| + |C₀|)_ij + 2⁻²⁴·|ref_ij|.

const U = 2 ** -24;

function random(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

function check(
  shape: Required<Pick<MatmulShape, 'M' | 'N' | 'K'>> & MatmulShape,
  accumulate: boolean,
  kernel: 'direct' | 'simd' | 'scalar',
) {
  const { M, N, K } = shape;
  const a = random(M * K, 1 + M);
  const b = random(K * N, 2 + N);
  const c0 = accumulate ? random(M * N, 3 + K) : new Float32Array(M * N);
  const ref = Float32Array.from(c0);
  matmulReference(a, b, shape, ref);
  const bound = matmulReference(a.map(Math.abs), b.map(Math.abs), shape, c0.map(Math.abs));
  // Garbage in C shows up when accumulate is false and the kernel fails to overwrite.
  const fast = accumulate ? Float32Array.from(c0) : new Float32Array(M * N).fill(Number.NaN);
  matmulFast(a, b, fast, shape, accumulate, kernel);
  let worst = 0;
  for (let i = 0; i < M * N; i++) {
    const tol = (K + 2) * U * bound[i] + U * Math.abs(ref[i]) + 1e-30;
    worst = Math.max(worst, Math.abs(fast[i] - ref[i]) / tol);
  }
  expect(worst).toBeLessThanOrEqual(1);
}

// Odd sizes, 1, and sizes just past the blocks (KC = 256, NC = 512, tiles of 4 × 4 or 4 × 8).
const SIZES: Array<[number, number, number]> = [
  [1, 1, 1],
  [1, 7, 3],
  [5, 1, 9],
  [3, 5, 7],
  [4, 8, 16],
  [17, 33, 65],
  [9, 13, 257],
  [6, 515, 11],
  [33, 19, 600],
];

const KERNELS: Array<'direct' | 'simd' | 'scalar'> = matmulUsesSimd
  ? ['direct', 'simd', 'scalar']
  : ['scalar'];

describe('matmulFast against matmulReference', () => {
  it('uses WebAssembly SIMD on Node', () => {
    expect(matmulUsesSimd).toBe(true);
  });
  for (const kernel of KERNELS) {
    for (const [transA, transB] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ]) {
      for (const accumulate of [false, true]) {
        it(`${kernel}: ${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'}${accumulate ? ' (accumulate)' : ''}`, () => {
          for (const [M, N, K] of SIZES) check({ M, N, K, transA, transB }, accumulate, kernel);
        });
      }
    }
  }
  it('K = 0 gives zeros (or leaves C as it was when accumulating)', () => {
    const c = new Float32Array(6).fill(5);
    matmulFast(new Float32Array(0), new Float32Array(0), c, { M: 2, N: 3, K: 0 }, true);
    expect([...c]).toEqual([5, 5, 5, 5, 5, 5]);
    matmulFast(new Float32Array(0), new Float32Array(0), c, { M: 2, N: 3, K: 0 });
    expect([...c]).toEqual([0, 0, 0, 0, 0, 0]);
  });
  it('rejects buffers that are too small', () => {
    expect(() =>
      matmulFast(new Float32Array(5), new Float32Array(6), new Float32Array(4), { M: 2, N: 2, K: 3 }),
    ).toThrow(RangeError);
  });
});

// The direct kernel as built both ways: plain mul + add, and relaxed SIMD's fused multiply-add
// (where the engine has it: Chrome, Node ≥ 22, or Node 20 with --experimental-wasm-relaxed-simd;
// elsewhere createSimdGemm falls back and both runs check the plain kernel).
describe('direct SIMD kernel against matmulReference', () => {
  for (const fma of [false, true]) {
    const g = createSimdGemm(8, { fma });
    it(`${fma ? 'fused multiply-add requested' : 'mul + add'} (built fused: ${g?.fused})`, () => {
      if (!g) throw new Error('no wasm SIMD');
      if (!fma) expect(g.fused).toBe(false);
      // M past the 4-row tile (1-row remainder), N a multiple of 8, odd K; both layouts of A.
      for (const [M, N, K] of [
        [1, 8, 1],
        [7, 16, 13],
        [13, 24, 37],
        [4, 8, 300],
      ]) {
        for (const transA of [false, true]) {
          for (const accumulate of [false, true]) {
            const a = random(M * K, 7 + M);
            const b = random(K * N, 8 + K);
            const c0 = accumulate ? random(M * N, 9 + N) : new Float32Array(M * N);
            const shape = { M, N, K, transA };
            const ref = Float32Array.from(c0);
            matmulReference(a, b, shape, ref);
            const bound = matmulReference(a.map(Math.abs), b.map(Math.abs), shape, c0.map(Math.abs));
            const mem = new Float32Array(g.memory.buffer);
            const [oA, oB, oC] = [0, M * K, M * K + K * N];
            mem.set(a, oA);
            mem.set(b, oB);
            if (accumulate) mem.set(c0, oC);
            else mem.fill(Number.NaN, oC, oC + M * N);
            const [ars, aks] = transA ? [1, M] : [K, 1];
            g.direct(4 * oA, 4 * ars, 4 * aks, 4 * oB, 4 * N, 4 * oC, 4 * N, M, N / 8, K, accumulate ? 1 : 0);
            for (let i = 0; i < M * N; i++) {
              const tol = (K + 2) * U * bound[i] + U * Math.abs(ref[i]) + 1e-30;
              expect(Math.abs(mem[oC + i] - ref[i])).toBeLessThanOrEqual(tol);
            }
          }
        }
      }
    });
  }
});
