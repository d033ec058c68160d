// Fast CPU matmul: C (+)= op(A) · op(B), row-major float32 buffers, op = identity or transpose.
//
// Three routes, all 4-row tiles over K blocks of KC, float32 partial sums of the blocks in C:
// - direct (the default where WebAssembly SIMD exists): the operands are copied into the wasm
//   memory with memcpy (B transposed or padded when needed) and gemmDirect (gemm-simd.ts, 4×8
//   f32x4 tiles) reads them unpacked; copying is O(MK + KN + MN) at memcpy speed.
// - packed (gemm(), for strided views of JS arrays): GotoBLAS-style, op(B) packed into column
//   panels ([kc][W]) and op(A) into row panels of 4 ([kc][4]) by JS loops, the same SIMD tile
//   on them, the result tile written back by JS. Slower (the JS copies cost about as much as
//   the tile at the model's small K), used where operands are views of larger arrays.
// - scalar: the packed route with a 4×4 JS tile whose sums are JS numbers (float64), where the
//   engine lacks wasm SIMD.

import { createSimdGemm, type SimdGemm } from './gemm-simd.ts';

export interface FastMatmulShape {
  M: number;
  N: number;
  K: number;
  /** A is stored K×M (so op(A) = Aᵀ). */
  transA?: boolean;
  /** B is stored N×K (so op(B) = Bᵀ). */
  transB?: boolean;
}

const KC = 256; // K block: a 4×KC panel of A (4 KiB) stays in L1
const NC = 512; // N block: the packed B block (NC×KC floats, 512 KiB) stays in L2

// Byte layout of the wasm memory: packed A panel, packed B block, one 4 × NC output tile, then
// scratch for callers (attention's score blocks), grown on demand.
const PA_BYTES = 0;
const PB_BYTES = 4 * 4 * KC;
const OUT_BYTES = PB_BYTES + 4 * NC * KC;
const SCRATCH_BYTES = OUT_BYTES + 4 * 4 * NC;
const PAGE = 65536;

const simd = createSimdGemm(Math.ceil(SCRATCH_BYTES / PAGE));
let packA = new Float32Array(4 * KC);
let packB = new Float32Array(NC * KC);
let outTile = new Float32Array(0);
function viewMemory(): void {
  if (!simd) return;
  packA = new Float32Array(simd.memory.buffer, PA_BYTES, 4 * KC);
  packB = new Float32Array(simd.memory.buffer, PB_BYTES, NC * KC);
  outTile = new Float32Array(simd.memory.buffer, OUT_BYTES, 4 * NC);
}
viewMemory();

/** Whether the WebAssembly SIMD micro-kernel is in use (else the scalar JS one). */
export const matmulUsesSimd = simd !== null;

/** Whether the direct kernel multiply-adds in one instruction (relaxed SIMD in this engine). */
export const matmulFusedMultiplyAdd = simd?.fused ?? false;

let scratchView = new Float32Array(0);
/**
 * n floats of scratch, inside the wasm memory when there is one (so expShifted runs there in
 * SIMD). Valid until the next call, which may grow the memory and detach older views.
 */
export function simdScratch(n: number): Float32Array {
  if (!simd) {
    if (scratchView.length < n) scratchView = new Float32Array(n);
    return scratchView;
  }
  const need = SCRATCH_BYTES + 4 * n;
  const have = simd.memory.buffer.byteLength;
  if (have < need) {
    simd.memory.grow(Math.ceil((need - have) / PAGE));
    viewMemory();
  }
  if (scratchView.buffer !== simd.memory.buffer || scratchView.length < n) {
    scratchView = new Float32Array(
      simd.memory.buffer,
      SCRATCH_BYTES,
      (simd.memory.buffer.byteLength - SCRATCH_BYTES) >> 2,
    );
  }
  return scratchView;
}

/** Whether gemmDirect can run (the wasm SIMD kernels are there). */
export const hasGemmDirect = simd !== null;

/**
 * C (+)= op(A)·B on operands inside simdScratch's view `s`, by float index and float strides:
 * op(A)(m, k) = s[a + m·ars + k·aks], B row k = s[b + k·ldb …], C row m = s[c + m·ldc …]. N must
 * be a multiple of 8 (whole panels are written), no packing: for small blocks (attention).
 */
export function gemmDirect(
  s: Float32Array,
  a: number,
  ars: number,
  aks: number,
  b: number,
  ldb: number,
  c: number,
  ldc: number,
  M: number,
  N: number,
  K: number,
  accumulate: boolean,
): void {
  if (!simd || s.buffer !== simd.memory.buffer)
    throw new Error('gemmDirect: operands must be in simdScratch');
  if (N % 8 !== 0) throw new Error(`gemmDirect: N = ${N} is not a multiple of 8`);
  if (M === 0 || N === 0) return;
  if (K === 0) {
    if (!accumulate) for (let i = 0; i < M; i++) s.fill(0, c + i * ldc, c + i * ldc + N);
    return;
  }
  const o = s.byteOffset;
  simd.direct(
    o + 4 * a,
    4 * ars,
    4 * aks,
    o + 4 * b,
    4 * ldb,
    o + 4 * c,
    4 * ldc,
    M,
    N >> 3,
    K,
    accumulate ? 1 : 0,
  );
}

/**
 * x ← exp(x·scale − shift) for x = buf[off … off + n − 1], returning Σ of the results. In wasm
 * SIMD (expf to about 2 ulp, float32 sum) when buf is simdScratch's, else Math.exp in float64.
 */
export function expShifted(buf: Float32Array, off: number, n: number, scale: number, shift: number): number {
  let sum = 0;
  let i = 0;
  if (simd && buf.buffer === simd.memory.buffer && n >= 4) {
    const n4 = n >> 2;
    sum = simd.expRow(buf.byteOffset + 4 * off, n4, scale, shift);
    i = 4 * n4;
  }
  for (; i < n; i++) {
    const e = Math.exp(buf[off + i] * scale - shift);
    buf[off + i] = e;
    sum += e;
  }
  return sum;
}

/** max of buf[off … off + n − 1] (n ≥ 1); in wasm SIMD when buf is simdScratch's. */
export function rowMax(buf: Float32Array, off: number, n: number): number {
  let max = Number.NEGATIVE_INFINITY;
  let i = 0;
  if (simd && buf.buffer === simd.memory.buffer && n >= 4) {
    const n4 = n >> 2;
    max = simd.rowMax(buf.byteOffset + 4 * off, n4);
    i = 4 * n4;
  }
  for (; i < n; i++) if (buf[off + i] > max) max = buf[off + i];
  return max;
}

/**
 * buf[d + j] ← buf[p + j]·(buf[d + j] − delta)·scale for j < n: attention's dS from P and dP. In
 * wasm SIMD (float32) when buf is simdScratch's, else in float64.
 */
export function softmaxGradRow(
  buf: Float32Array,
  p: number,
  d: number,
  n: number,
  delta: number,
  scale: number,
): void {
  let i = 0;
  if (simd && buf.buffer === simd.memory.buffer && n >= 4) {
    const n4 = n >> 2;
    simd.softmaxGradRow(buf.byteOffset + 4 * p, buf.byteOffset + 4 * d, n4, delta, scale);
    i = 4 * n4;
  }
  for (; i < n; i++) buf[d + i] = buf[p + i] * (buf[d + i] - delta) * scale;
}

/** Packs rows m0..m0+3 of op(A), columns k0..k0+kc−1, as [kc][4] (rows past M are zero). */
function packAPanel(
  a: Float32Array,
  ao: number,
  lda: number,
  M: number,
  transA: boolean,
  m0: number,
  k0: number,
  kc: number,
): void {
  const p = packA;
  const rows = Math.min(4, M - m0);
  if (rows < 4) p.fill(0, 0, 4 * kc);
  if (transA) {
    // A is K×M: rows of op(A) are columns of A, so each k reads up to 4 contiguous values.
    for (let k = 0; k < kc; k++) {
      const src = ao + (k0 + k) * lda + m0;
      const dst = 4 * k;
      for (let r = 0; r < rows; r++) p[dst + r] = a[src + r];
    }
  } else {
    for (let r = 0; r < rows; r++) {
      const src = ao + (m0 + r) * lda + k0;
      for (let k = 0; k < kc; k++) p[4 * k + r] = a[src + k];
    }
  }
}

/** Packs columns n0..n0+nc−1 of op(B), rows k0..k0+kc−1, as panels [nc/W][kc][W] (zero-padded). */
function packBBlock(
  b: Float32Array,
  bo: number,
  ldb: number,
  transB: boolean,
  n0: number,
  nc: number,
  k0: number,
  kc: number,
  W: number,
): void {
  const p = packB;
  const panels = Math.ceil(nc / W);
  for (let j = 0; j < panels; j++) {
    const base = j * kc * W;
    const cols = Math.min(W, nc - W * j);
    if (cols < W) p.fill(0, base, base + W * kc);
    const c0 = n0 + W * j;
    if (transB) {
      // B is N×K: column c of op(B) is row c of B, contiguous in k.
      for (let c = 0; c < cols; c++) {
        const src = bo + (c0 + c) * ldb + k0;
        for (let k = 0; k < kc; k++) p[base + W * k + c] = b[src + k];
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const src = bo + (k0 + k) * ldb + c0;
        const dst = base + W * k;
        for (let c = 0; c < cols; c++) p[dst + c] = b[src + c];
      }
    }
  }
}

const edge = new Float64Array(16);

/**
 * C[r·ldc + q] (+)= Σ_k pa[4k + r] · pb[ib + 4k + q] for the rows × cols corner of a 4×4 tile;
 * the 16 sums are locals, so V8 keeps (most of) them in registers as float64.
 */
// biome-ignore format: one row of the 4×4 register tile per line
function micro4x4(pa: Float32Array, pb: Float32Array, ib: number, kc: number, c: Float32Array, o: number, ldc: number, rows: number, cols: number, add: boolean): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  const end = 4 * kc;
  for (let ia = 0; ia < end; ia += 4, ib += 4) {
    const a0 = pa[ia], a1 = pa[ia + 1], a2 = pa[ia + 2], a3 = pa[ia + 3];
    const b0 = pb[ib], b1 = pb[ib + 1], b2 = pb[ib + 2], b3 = pb[ib + 3];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  if (rows === 4 && cols === 4) {
    const r0 = o, r1 = o + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
    if (add) {
      c[r0] += c00; c[r0 + 1] += c01; c[r0 + 2] += c02; c[r0 + 3] += c03;
      c[r1] += c10; c[r1 + 1] += c11; c[r1 + 2] += c12; c[r1 + 3] += c13;
      c[r2] += c20; c[r2 + 1] += c21; c[r2 + 2] += c22; c[r2 + 3] += c23;
      c[r3] += c30; c[r3 + 1] += c31; c[r3 + 2] += c32; c[r3 + 3] += c33;
    } else {
      c[r0] = c00; c[r0 + 1] = c01; c[r0 + 2] = c02; c[r0 + 3] = c03;
      c[r1] = c10; c[r1 + 1] = c11; c[r1 + 2] = c12; c[r1 + 3] = c13;
      c[r2] = c20; c[r2 + 1] = c21; c[r2 + 2] = c22; c[r2 + 3] = c23;
      c[r3] = c30; c[r3 + 1] = c31; c[r3 + 2] = c32; c[r3 + 3] = c33;
    }
    return;
  }
  // Edge tile (M or N not a multiple of 4): only the valid corner is written.
  edge[0] = c00; edge[1] = c01; edge[2] = c02; edge[3] = c03;
  edge[4] = c10; edge[5] = c11; edge[6] = c12; edge[7] = c13;
  edge[8] = c20; edge[9] = c21; edge[10] = c22; edge[11] = c23;
  edge[12] = c30; edge[13] = c31; edge[14] = c32; edge[15] = c33;
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < cols; q++) {
      if (add) c[o + r * ldc + q] += edge[4 * r + q];
      else c[o + r * ldc + q] = edge[4 * r + q];
    }
  }
}

/**
 * C (+)= op(A)·op(B); with `accumulate` false, C is overwritten. `kernel` is for tests: 'direct'
 * (the default with wasm SIMD) copies the operands into the wasm memory and runs gemmDirect on
 * K blocks; 'simd' packs panels in JS for the SIMD panel kernel; 'scalar' is plain JS.
 */
export function matmulFast(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  shape: FastMatmulShape,
  accumulate = false,
  kernel: 'direct' | 'simd' | 'scalar' = simd ? 'direct' : 'scalar',
): void {
  const { M, N, K, transA = false, transB = false } = shape;
  if (kernel !== 'scalar' && !simd) throw new Error('matmulFast: WebAssembly SIMD is not available here');
  if (a.length < M * K || b.length < K * N || c.length < M * N) {
    throw new RangeError(`matmulFast: buffers too small for M=${M} N=${N} K=${K}`);
  }
  if (kernel === 'direct' && M > 0 && N > 0 && K > 0) {
    matmulDirect(a, b, c, M, N, K, transA, transB, accumulate);
    return;
  }
  const lda = transA ? M : K;
  const ldb = transB ? K : N;
  gemm(a, 0, lda, transA, b, 0, ldb, transB, c, 0, N, M, N, K, accumulate, kernel === 'simd');
}

const pad8 = (n: number) => (n + 7) & ~7;

/**
 * One call of the direct kernel, in bytes of a wasm memory: C (+)= op(A)·B for M rows and 8·N8
 * columns (see gemm-simd.ts direct), run over K in blocks of `kc` (the first block writes C
 * unless `accumulate`, later ones add).
 */
export interface DirectCall {
  a: number;
  ars: number;
  aks: number;
  b: number;
  ldb: number;
  c: number;
  ldc: number;
  M: number;
  N8: number;
  K: number;
  kc: number;
  accumulate: boolean;
}

/**
 * Runs a DirectCall with `direct` (a kernel instance over the memory the call's bytes are in).
 * Self-contained: the matmul worker threads run its source text (matmul-threads.ts).
 */
export function runDirectBlocks(direct: SimdGemm['direct'], call: DirectCall): void {
  const { a, ars, aks, b, ldb, c, ldc, M, N8, K, kc, accumulate } = call;
  for (let k0 = 0; k0 < K; k0 += kc) {
    const add = accumulate || k0 > 0 ? 1 : 0;
    direct(a + k0 * aks, ars, aks, b + k0 * ldb, ldb, c, ldc, M, N8, Math.min(kc, K - k0), add);
  }
}

/** Where matmulDirect copies its operands (a wasm memory) and runs the kernel on them. */
export interface DirectTarget {
  /** n floats of the target's memory, from its start; valid until the next call. */
  scratch(n: number): Float32Array;
  run(call: DirectCall): void;
}

// The module's own kernel instance, scratch past its fixed panels.
const localTarget: DirectTarget = {
  scratch: simdScratch,
  run: (call) => runDirectBlocks(simd!.direct, call),
};

/**
 * matmulFast's direct route on another target (worker threads sharing a memory): the same
 * copies and the same kernel calls, so the same results to the bit.
 */
export function matmulDirectOn(
  target: DirectTarget,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  shape: FastMatmulShape,
  accumulate = false,
): void {
  const { M, N, K, transA = false, transB = false } = shape;
  if (a.length < M * K || b.length < K * N || c.length < M * N) {
    throw new RangeError(`matmulDirectOn: buffers too small for M=${M} N=${N} K=${K}`);
  }
  if (M === 0 || N === 0) return;
  if (K === 0) {
    if (!accumulate) c.fill(0, 0, M * N);
    return;
  }
  matmulDirect(a, b, c, M, N, K, transA, transB, accumulate, target);
}

/**
 * matmulFast through a wasm memory: A copied as it is (the kernel reads either layout), B as
 * [K][N] rows padded to 8 columns (transposed first when stored N×K), C likewise; K in blocks of
 * KC so that the B rows of a block stay in cache while all of A's rows pass. The padding columns
 * of B hold whatever was there: a column of C depends only on the same column of B, so they only
 * reach C's padding, which is not copied out.
 */
function matmulDirect(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
  target: DirectTarget = localTarget,
): void {
  const ld = pad8(N);
  const oA = 0;
  const oB = pad8(M * K);
  const oC = oB + K * ld + 8;
  const s = target.scratch(oC + M * ld);
  s.set(a.length === M * K ? a : a.subarray(0, M * K), oA);
  if (!transB && N === ld) s.set(b.length === K * N ? b : b.subarray(0, K * N), oB);
  else if (!transB) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) s[oB + k * ld + n] = b[k * N + n];
  else for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) s[oB + k * ld + n] = b[n * K + k];
  if (accumulate) {
    if (N === ld) s.set(c.length === M * N ? c : c.subarray(0, M * N), oC);
    else for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) s[oC + m * ld + n] = c[m * N + n];
  }
  const o = s.byteOffset;
  const ars = transA ? 1 : K;
  const aks = transA ? M : 1;
  target.run({
    a: o + 4 * oA,
    ars: 4 * ars,
    aks: 4 * aks,
    b: o + 4 * oB,
    ldb: 4 * ld,
    c: o + 4 * oC,
    ldc: 4 * ld,
    M,
    N8: ld >> 3,
    K,
    kc: KC,
    accumulate,
  });
  if (N === ld) c.set(s.subarray(oC, oC + M * N));
  else for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) c[m * N + n] = s[oC + m * ld + n];
}

/**
 * The same on strided views, without allocating: row i of op(A) starts at a[ao + i·lda] (with
 * transA, row k of the stored A does), likewise B, and row i of C is at c[co + i·ldc]. For
 * callers working on blocks of larger arrays (attention on one head of [B, T, H·D]); bounds are
 * the caller's to keep (a typed array reads undefined past its end, which would poison sums).
 */
export function gemm(
  a: Float32Array,
  ao: number,
  lda: number,
  transA: boolean,
  b: Float32Array,
  bo: number,
  ldb: number,
  transB: boolean,
  c: Float32Array,
  co: number,
  ldc: number,
  M: number,
  N: number,
  K: number,
  accumulate: boolean,
  useSimd: boolean = simd !== null,
): void {
  const wasm = useSimd ? simd : null;
  if (M === 0 || N === 0) return;
  if (K === 0) {
    if (!accumulate) for (let i = 0; i < M; i++) c.fill(0, co + i * ldc, co + i * ldc + N);
    return;
  }
  const W = wasm ? 8 : 4;
  for (let n0 = 0; n0 < N; n0 += NC) {
    const nc = Math.min(NC, N - n0);
    const panels = Math.ceil(nc / W);
    for (let k0 = 0; k0 < K; k0 += KC) {
      const kc = Math.min(KC, K - k0);
      const add = accumulate || k0 > 0;
      packBBlock(b, bo, ldb, transB, n0, nc, k0, kc, W);
      for (let m0 = 0; m0 < M; m0 += 4) {
        packAPanel(a, ao, lda, M, transA, m0, k0, kc);
        const rows = Math.min(4, M - m0);
        const o = co + m0 * ldc + n0;
        if (wasm) {
          const ldo = panels * W;
          wasm.panel(PA_BYTES, PB_BYTES, kc, panels, OUT_BYTES, 4 * ldo);
          writeTile(c, o, ldc, rows, nc, outTile, ldo, add);
        } else {
          for (let j = 0; j < panels; j++) {
            const cols = Math.min(4, nc - 4 * j);
            micro4x4(packA, packB, j * kc * 4, kc, c, o + 4 * j, ldc, rows, cols, add);
          }
        }
      }
    }
  }
}

/** C rows o, o + ldc, … (rows × cols) (+)= the wasm output tile (row stride ldo). */
function writeTile(
  c: Float32Array,
  o: number,
  ldc: number,
  rows: number,
  cols: number,
  tile: Float32Array,
  ldo: number,
  add: boolean,
): void {
  for (let r = 0; r < rows; r++) {
    const dst = o + r * ldc;
    const src = r * ldo;
    if (add) for (let q = 0; q < cols; q++) c[dst + q] += tile[src + q];
    else for (let q = 0; q < cols; q++) c[dst + q] = tile[src + q];
  }
}
