// Attention's own wasm SIMD instance: the direct matmul kernel of gemm-simd.ts on a memory of
// its own, plus kernels for the rest of attention's work: the masked softmax of a whole block of
// score rows in one call (one call per row from JS cost as much as the exp itself at the bench
// shapes), the backward's P and dS likewise, Kᵀ/Vᵀ and Δ (JS loops over single floats took a
// fifth of the windowed backward).
//
// Row i of a block (i < rows) sees the block-local columns first … last, last = last0 + i,
// first = max(0, last − W + 1); the rest of the row, up to `width`, is written 0. Rows are `ld`
// bytes apart and padded (ld ≥ 4·(width + 3)): each row is read and written in whole f32x4
// vectors from `first`, the lanes past `last` masked to 0.
//
// softmaxRows(s, ld, rows, last0, W, width, scale, stats): x ← softmax(x·scale) over each row's
//   visible columns (max m of x·scale, e = exp(x·scale − m), x ← e / Σe), stats ← (m, Σe) as two
//   float32 per row (lse = m + log Σe, taken by the caller: wasm has no log).
// dsRows(p, d, ld, rows, last0, W, width, scale, lse, delta): the backward's P and dS from S (in
//   p) and dP (in d): p ← exp(x·scale − lse_i), d ← p·(d − Δ_i)·scale; lse and delta are float32
//   per row.
// transpose(src, lds, dst, ldd, rows4, cols4): dst row c, column r ← src row r, column c, for
//   r < 4·rows4, c < 4·cols4 (4×4 blocks transposed in registers by shuffles): Kᵀ and Vᵀ.
// rowDots(a, b, ld, rows, d4, out): out_i ← Σ_c a_i,c·b_i,c over 4·d4 columns (float32): Δ.
// All pointers and ld are in bytes.

import { type Bytes, F32, I32, op, V128, type WasmFunction, wasmModule } from '../../wasm/writer.ts';
import { createSimdGemm, emitExp } from './gemm-simd.ts';

/** The loop head shared by both kernels: last, first, m = last − first + 1, n4 = ⌈m / 4⌉. */
function rowRange(last: number, first: number, W: number, m: number, n4: number): Bytes[] {
  return [
    op.get(last),
    op.get(W),
    op.sub,
    op.i32(1),
    op.add,
    op.set(first),
    op.get(first),
    op.i32(0),
    op.get(first),
    op.i32(0),
    op.gtS,
    op.select,
    op.set(first),
    op.get(last),
    op.get(first),
    op.sub,
    op.i32(1),
    op.add,
    op.set(m),
    op.get(m),
    op.i32(3),
    op.add,
    op.i32(2),
    op.shrS,
    op.set(n4),
  ];
}

/** f32.store 0 at ptr, ptr + 4, … while ptr < end (locals). */
function zeroRange(ptr: number, end: number): Bytes[] {
  return [
    op.block,
    op.loop,
    op.get(ptr),
    op.get(end),
    op.ltS,
    op.eqz,
    op.brIf(1),
    op.get(ptr),
    op.f32Const(0),
    op.f32Store(0),
    op.get(ptr),
    op.i32(4),
    op.add,
    op.set(ptr),
    op.br(0),
    op.end,
    op.end,
  ];
}

const IOTA: [number, number, number, number] = [0, 1, 2, 3];

function softmaxRowsFunction(): WasmFunction {
  const [s, ld, rows, last0, W, width, scale, stats] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [last, first, m, n4, j, p, q, end] = [8, 9, 10, 11, 12, 13, 14, 15];
  const [mx, sum] = [16, 17];
  const [sc, acc, lanes, mv, x, fx, y, sh] = [18, 19, 20, 21, 22, 23, 24, 25];
  const body: Bytes[] = [];
  body.push(op.get(scale), op.f32x4Splat, op.set(sc), op.get(last0), op.set(last));
  body.push(op.loop); // over rows (rows ≥ 1)
  body.push(...rowRange(last, first, W, m, n4));
  body.push(op.get(m), op.i32x4Splat, op.set(mv));
  // Pass 1: the max of x·scale over the visible lanes (others −∞).
  body.push(op.get(s), op.get(first), op.i32(2), op.shl, op.add, op.set(p), op.get(n4), op.set(j));
  body.push(op.f32x4Const(Number.NEGATIVE_INFINITY), op.set(acc), op.i32x4Lanes(IOTA), op.set(lanes));
  body.push(op.loop);
  body.push(op.get(p), op.v128Load(0), op.get(sc), op.f32x4Mul);
  body.push(
    op.f32x4Const(Number.NEGATIVE_INFINITY),
    op.get(lanes),
    op.get(mv),
    op.i32x4LtS,
    op.v128Bitselect,
  );
  body.push(op.get(acc), op.f32x4Pmax, op.set(acc)); // (a NaN score makes Σe NaN in pass 2)
  body.push(op.get(lanes), op.i32x4Const(4), op.i32x4Add, op.set(lanes));
  body.push(op.get(p), op.i32(16), op.add, op.set(p));
  body.push(op.get(j), op.i32(1), op.sub, op.tee(j), op.brIf(0), op.end);
  body.push(op.get(acc), op.f32x4ExtractLane(0), op.get(acc), op.f32x4ExtractLane(1), op.f32Max);
  body.push(op.get(acc), op.f32x4ExtractLane(2), op.get(acc), op.f32x4ExtractLane(3), op.f32Max, op.f32Max);
  body.push(op.tee(mx), op.f32x4Splat, op.set(sh));
  // Pass 2: e = exp(x·scale − max), masked lanes 0, and Σe.
  body.push(op.get(s), op.get(first), op.i32(2), op.shl, op.add, op.set(p), op.get(n4), op.set(j));
  body.push(op.v128Zero, op.set(acc), op.i32x4Lanes(IOTA), op.set(lanes));
  body.push(op.loop);
  body.push(op.get(p), op.v128Load(0), op.get(sc), op.f32x4Mul, op.get(sh), op.f32x4Sub, op.set(x));
  body.push(...emitExp(x, fx, y));
  body.push(op.get(y), op.get(lanes), op.get(mv), op.i32x4LtS, op.v128And, op.set(y));
  body.push(op.get(p), op.get(y), op.v128Store(0), op.get(acc), op.get(y), op.f32x4Add, op.set(acc));
  body.push(op.get(lanes), op.i32x4Const(4), op.i32x4Add, op.set(lanes));
  body.push(op.get(p), op.i32(16), op.add, op.set(p));
  body.push(op.get(j), op.i32(1), op.sub, op.tee(j), op.brIf(0), op.end);
  body.push(op.get(acc), op.f32x4ExtractLane(0), op.get(acc), op.f32x4ExtractLane(1), op.f32Add);
  body.push(op.get(acc), op.f32x4ExtractLane(2), op.get(acc), op.f32x4ExtractLane(3), op.f32Add, op.f32Add);
  body.push(op.set(sum));
  // Pass 3: e ← e / Σe (as e·(1/Σe)).
  body.push(op.get(s), op.get(first), op.i32(2), op.shl, op.add, op.set(p), op.get(n4), op.set(j));
  body.push(op.f32Const(1), op.get(sum), op.f32Div, op.f32x4Splat, op.set(sh));
  body.push(op.loop);
  body.push(op.get(p), op.get(p), op.v128Load(0), op.get(sh), op.f32x4Mul, op.v128Store(0));
  body.push(op.get(p), op.i32(16), op.add, op.set(p));
  body.push(op.get(j), op.i32(1), op.sub, op.tee(j), op.brIf(0), op.end);
  // Zeros before first and after the last vector, up to width.
  body.push(op.get(s), op.set(q), op.get(s), op.get(first), op.i32(2), op.shl, op.add, op.set(end));
  body.push(...zeroRange(q, end));
  body.push(op.get(p), op.set(q), op.get(s), op.get(width), op.i32(2), op.shl, op.add, op.set(end));
  body.push(...zeroRange(q, end));
  body.push(op.get(stats), op.get(mx), op.f32Store(0), op.get(stats), op.get(sum), op.f32Store(4));
  body.push(op.get(stats), op.i32(8), op.add, op.set(stats));
  body.push(op.get(s), op.get(ld), op.add, op.set(s), op.get(last), op.i32(1), op.add, op.set(last));
  body.push(op.get(rows), op.i32(1), op.sub, op.tee(rows), op.brIf(0), op.end);
  return {
    name: 'softmaxRows',
    params: [I32, I32, I32, I32, I32, I32, F32, I32],
    results: [],
    locals: [I32, I32, I32, I32, I32, I32, I32, I32, F32, F32, ...new Array<number>(8).fill(V128)],
    body,
  };
}

function dsRowsFunction(): WasmFunction {
  const [p, d, ld, rows, last0, W, width, scale, lse, delta] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [last, first, m, n4, j, a, b, q, end] = [10, 11, 12, 13, 14, 15, 16, 17, 18];
  const [sc, lanes, mv, x, fx, y, sh, dl, mask] = [19, 20, 21, 22, 23, 24, 25, 26, 27];
  const body: Bytes[] = [];
  body.push(op.get(scale), op.f32x4Splat, op.set(sc), op.get(last0), op.set(last));
  body.push(op.loop); // over rows (rows ≥ 1)
  body.push(...rowRange(last, first, W, m, n4));
  body.push(op.get(m), op.i32x4Splat, op.set(mv));
  body.push(op.get(lse), op.f32Load(0), op.f32x4Splat, op.set(sh));
  body.push(op.get(delta), op.f32Load(0), op.f32x4Splat, op.set(dl));
  body.push(op.get(p), op.get(first), op.i32(2), op.shl, op.add, op.set(a));
  body.push(op.get(d), op.get(first), op.i32(2), op.shl, op.add, op.set(b));
  body.push(op.get(n4), op.set(j), op.i32x4Lanes(IOTA), op.set(lanes));
  body.push(op.loop);
  body.push(op.get(a), op.v128Load(0), op.get(sc), op.f32x4Mul, op.get(sh), op.f32x4Sub, op.set(x));
  body.push(...emitExp(x, fx, y));
  body.push(op.get(lanes), op.get(mv), op.i32x4LtS, op.set(mask));
  body.push(op.get(y), op.get(mask), op.v128And, op.set(y));
  body.push(op.get(a), op.get(y), op.v128Store(0));
  // dS = P·(dP − Δ)·scale, masked (dP past last may hold anything)
  body.push(op.get(b), op.get(y), op.get(b), op.v128Load(0), op.get(dl), op.f32x4Sub, op.f32x4Mul);
  body.push(op.get(sc), op.f32x4Mul, op.get(mask), op.v128And, op.v128Store(0));
  body.push(op.get(lanes), op.i32x4Const(4), op.i32x4Add, op.set(lanes));
  body.push(op.get(a), op.i32(16), op.add, op.set(a), op.get(b), op.i32(16), op.add, op.set(b));
  body.push(op.get(j), op.i32(1), op.sub, op.tee(j), op.brIf(0), op.end);
  // Zeros before first and after the last vector, up to width, in both rows.
  for (const [row, after] of [
    [p, a],
    [d, b],
  ]) {
    body.push(op.get(row), op.set(q), op.get(row), op.get(first), op.i32(2), op.shl, op.add, op.set(end));
    body.push(...zeroRange(q, end));
    body.push(op.get(after), op.set(q), op.get(row), op.get(width), op.i32(2), op.shl, op.add, op.set(end));
    body.push(...zeroRange(q, end));
  }
  body.push(op.get(lse), op.i32(4), op.add, op.set(lse), op.get(delta), op.i32(4), op.add, op.set(delta));
  body.push(op.get(p), op.get(ld), op.add, op.set(p), op.get(d), op.get(ld), op.add, op.set(d));
  body.push(op.get(last), op.i32(1), op.add, op.set(last));
  body.push(op.get(rows), op.i32(1), op.sub, op.tee(rows), op.brIf(0), op.end);
  return {
    name: 'dsRows',
    params: [I32, I32, I32, I32, I32, I32, I32, F32, I32, I32],
    results: [],
    locals: [...new Array<number>(9).fill(I32), ...new Array<number>(9).fill(V128)],
    body,
  };
}

function transposeFunction(): WasmFunction {
  const [src, lds, dst, ldd, rows4, cols4] = [0, 1, 2, 3, 4, 5];
  const [j, ps, pd] = [6, 7, 8];
  const [r0, r1, r2, r3, t0, t1, t2, t3] = [9, 10, 11, 12, 13, 14, 15, 16];
  const body: Bytes[] = [];
  body.push(op.loop); // over groups of 4 source rows (rows4 ≥ 1)
  body.push(op.get(src), op.set(ps), op.get(dst), op.set(pd), op.get(cols4), op.set(j));
  body.push(op.loop); // over groups of 4 source columns (cols4 ≥ 1)
  for (const [r, k] of [
    [r0, 0],
    [r1, 1],
    [r2, 2],
    [r3, 3],
  ]) {
    body.push(op.get(ps));
    if (k > 0) body.push(op.get(lds), op.i32(k), op.mul, op.add);
    body.push(op.v128Load(0), op.set(r));
  }
  // [a0 b0 a1 b1], [a2 b2 a3 b3], [c0 d0 c1 d1], [c2 d2 c3 d3], then columns [a_k b_k c_k d_k]
  body.push(op.get(r0), op.get(r1), op.i32x4Shuffle([0, 4, 1, 5]), op.set(t0));
  body.push(op.get(r0), op.get(r1), op.i32x4Shuffle([2, 6, 3, 7]), op.set(t1));
  body.push(op.get(r2), op.get(r3), op.i32x4Shuffle([0, 4, 1, 5]), op.set(t2));
  body.push(op.get(r2), op.get(r3), op.i32x4Shuffle([2, 6, 3, 7]), op.set(t3));
  for (const [k, a, b, lanes] of [
    [0, t0, t2, [0, 1, 4, 5]],
    [1, t0, t2, [2, 3, 6, 7]],
    [2, t1, t3, [0, 1, 4, 5]],
    [3, t1, t3, [2, 3, 6, 7]],
  ] as const) {
    body.push(op.get(pd));
    if (k > 0) body.push(op.get(ldd), op.i32(k), op.mul, op.add);
    body.push(op.get(a), op.get(b), op.i32x4Shuffle([...lanes]), op.v128Store(0));
  }
  body.push(op.get(ps), op.i32(16), op.add, op.set(ps));
  body.push(op.get(pd), op.get(ldd), op.i32(4), op.mul, op.add, op.set(pd));
  body.push(op.get(j), op.i32(1), op.sub, op.tee(j), op.brIf(0), op.end);
  body.push(op.get(src), op.get(lds), op.i32(4), op.mul, op.add, op.set(src));
  body.push(op.get(dst), op.i32(16), op.add, op.set(dst));
  body.push(op.get(rows4), op.i32(1), op.sub, op.tee(rows4), op.brIf(0), op.end);
  return {
    name: 'transpose',
    params: new Array<number>(6).fill(I32),
    results: [],
    locals: [I32, I32, I32, ...new Array<number>(8).fill(V128)],
    body,
  };
}

function rowDotsFunction(): WasmFunction {
  const [a, b, ld, rows, d4, out] = [0, 1, 2, 3, 4, 5];
  const [j, pa, pb, acc] = [6, 7, 8, 9];
  const body: Bytes[] = [];
  body.push(op.loop); // over rows (rows ≥ 1)
  body.push(op.get(a), op.set(pa), op.get(b), op.set(pb), op.get(d4), op.set(j), op.v128Zero, op.set(acc));
  body.push(op.loop); // over 4 columns at a time (d4 ≥ 1)
  body.push(op.get(acc), op.get(pa), op.v128Load(0), op.get(pb), op.v128Load(0), op.f32x4Mul, op.f32x4Add);
  body.push(
    op.set(acc),
    op.get(pa),
    op.i32(16),
    op.add,
    op.set(pa),
    op.get(pb),
    op.i32(16),
    op.add,
    op.set(pb),
  );
  body.push(op.get(j), op.i32(1), op.sub, op.tee(j), op.brIf(0), op.end);
  body.push(op.get(out), op.get(acc), op.f32x4ExtractLane(0), op.get(acc), op.f32x4ExtractLane(1), op.f32Add);
  body.push(op.get(acc), op.f32x4ExtractLane(2), op.get(acc), op.f32x4ExtractLane(3), op.f32Add, op.f32Add);
  body.push(op.f32Store(0), op.get(out), op.i32(4), op.add, op.set(out));
  body.push(op.get(a), op.get(ld), op.add, op.set(a), op.get(b), op.get(ld), op.add, op.set(b));
  body.push(op.get(rows), op.i32(1), op.sub, op.tee(rows), op.brIf(0), op.end);
  return {
    name: 'rowDots',
    params: new Array<number>(6).fill(I32),
    results: [],
    locals: [I32, I32, I32, V128],
    body,
  };
}

export interface AttentionKernels {
  /** Whether the matmul multiply-adds are fused (relaxed SIMD). */
  fused: boolean;
  /**
   * n floats from the start of the kernels' memory (grown on demand). Valid until the next call,
   * which may grow the memory and detach older views. Every other method takes float indices
   * into this view.
   */
  scratch(n: number): Float32Array;
  /** The memory's current view (another thread may have grown it since scratch was called). */
  view(): Float32Array;
  /** gemmDirect of matmul.ts on this memory: C (+)= op(A)·B, N a multiple of 8. */
  gemm(
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
  ): void;
  softmaxRows(
    s: number,
    ld: number,
    rows: number,
    last0: number,
    W: number,
    width: number,
    scale: number,
    stats: number,
  ): void;
  dsRows(
    p: number,
    d: number,
    ld: number,
    rows: number,
    last0: number,
    W: number,
    width: number,
    scale: number,
    lse: number,
    delta: number,
  ): void;
  /** dst[c·ldd + r] ← src[r·lds + c] for r < rows, c < cols (cols a multiple of 4). */
  transpose(src: number, lds: number, dst: number, ldd: number, rows: number, cols: number): void;
  /** out[i] ← Σ_c a[i·ld + c]·b[i·ld + c], c < D (a multiple of 4), in float32. */
  rowDots(a: number, b: number, ld: number, rows: number, D: number, out: number): void;
}

/**
 * The block kernels (softmaxRows, dsRows, transpose, rowDots) compiled, importing a memory of 1
 * page or more (shared, of at most sharedMaxPages, for worker threads); null without wasm SIMD.
 */
export function attentionBlockModule(sharedMaxPages?: number): WebAssembly.Module | null {
  if (typeof WebAssembly === 'undefined') return null;
  const bytes = wasmModule(
    [softmaxRowsFunction(), dsRowsFunction(), transposeFunction(), rowDotsFunction()],
    1,
    sharedMaxPages,
  );
  return WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
}

/** The direct gemm kernel's export (gemm-simd.ts), byte offsets and strides. */
type DirectKernel = (...args: number[]) => void;

/**
 * The float-index wrappers over a thread's instances of the direct gemm and the block kernels on
 * `memory`. Self-contained (no reference outside its body): the worker threads run its source
 * text (attention-threads-source.ts), so every thread wraps the kernels with this same code.
 */
export function attentionKernelsOn(
  direct: DirectKernel,
  blocks: WebAssembly.Exports,
  memory: WebAssembly.Memory,
): Omit<AttentionKernels, 'fused'> {
  const softmaxRows = blocks.softmaxRows as DirectKernel;
  const dsRows = blocks.dsRows as DirectKernel;
  const transpose = blocks.transpose as DirectKernel;
  const rowDots = blocks.rowDots as DirectKernel;
  let view = new Float32Array(memory.buffer);
  return {
    scratch(n) {
      const have = memory.buffer.byteLength;
      if (have < 4 * n) memory.grow(Math.ceil((4 * n - have) / 65536));
      return this.view();
    },
    view() {
      // Grown since, by this thread (a new buffer) or by another sharing it (a longer one).
      if (view.buffer !== memory.buffer || view.length * 4 !== memory.buffer.byteLength)
        view = new Float32Array(memory.buffer);
      return view;
    },
    gemm(a, ars, aks, b, ldb, c, ldc, M, N, K, accumulate) {
      if (N % 8 !== 0) throw new Error(`attention gemm: N = ${N} is not a multiple of 8`);
      if (M === 0 || N === 0) return;
      if (K === 0) {
        const v = this.view();
        if (!accumulate) for (let i = 0; i < M; i++) v.fill(0, c + i * ldc, c + i * ldc + N);
        return;
      }
      direct(4 * a, 4 * ars, 4 * aks, 4 * b, 4 * ldb, 4 * c, 4 * ldc, M, N >> 3, K, accumulate ? 1 : 0);
    },
    softmaxRows(s, ld, rows, last0, W, width, scale, stats) {
      if (rows > 0) softmaxRows(4 * s, 4 * ld, rows, last0, W, width, scale, 4 * stats);
    },
    dsRows(p, d, ld, rows, last0, W, width, scale, lse, delta) {
      if (rows > 0) dsRows(4 * p, 4 * d, 4 * ld, rows, last0, W, width, scale, 4 * lse, 4 * delta);
    },
    transpose(src, lds, dst, ldd, rows, cols) {
      if (cols % 4 !== 0) throw new Error(`attention transpose: ${cols} columns, not a multiple of 4`);
      const rows4 = rows >> 2;
      if (rows4 > 0 && cols > 0) transpose(4 * src, 4 * lds, 4 * dst, 4 * ldd, rows4, cols >> 2);
      const v = this.view();
      for (let r = 4 * rows4; r < rows; r++) {
        for (let c = 0; c < cols; c++) v[dst + c * ldd + r] = v[src + r * lds + c];
      }
    },
    rowDots(a, b, ld, rows, D, out) {
      if (D % 4 !== 0) throw new Error(`attention rowDots: D = ${D} is not a multiple of 4`);
      if (rows > 0 && D > 0) rowDots(4 * a, 4 * b, 4 * ld, rows, D >> 2, 4 * out);
    },
  };
}

/** The kernels, or null where wasm SIMD is missing. */
export function createAttentionKernels(): AttentionKernels | null {
  const simd = createSimdGemm(1);
  if (!simd) return null;
  const module = attentionBlockModule();
  if (!module) return null;
  const instance = new WebAssembly.Instance(module, { env: { memory: simd.memory } });
  return { fused: simd.fused, ...attentionKernelsOn(simd.direct, instance.exports, simd.memory) };
}
