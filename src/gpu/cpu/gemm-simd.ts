// The matmul micro-kernel in WebAssembly SIMD (f32x4), written with the binary writer of wasm.ts.
//
// panel(pa, pb, kc, panels, out, ldo): for one packed A panel (4 rows × kc, as [kc][4]) and
// `panels` packed B panels (kc × 8 each, as [kc][8]), writes the 4 × 8·panels product to `out`
// (row r at out + r·ldo bytes). Each B panel keeps a 4×8 tile in eight f32x4 accumulators;
// per k it loads two B vectors and splats four A values: 8 multiply-adds for 6 loads.
// Sums are float32 (lanes), over at most kc terms.
//
// direct(a, ars, aks, b, ldb, c, ldc, M, N8, K, add): C (+)= op(A)·B for operands already in
// the wasm memory, unpacked: op(A) element (m, k) at a + m·ars + k·aks bytes (so either layout
// of A), B row k at b + k·ldb with 8·N8 contiguous columns, C row m at c + m·ldc (written in
// whole 8-column panels: N must be a multiple of 8, or C padded). Rows go 4 at a time, then one
// at a time; the 4×8 tile is the same as panel's. For attention, whose blocks are too small for
// packing to pay. Where the engine has relaxed SIMD, its multiply-adds are f32x4.relaxed_madd
// (one fused instruction: about 1.2× the mul + add kernel on x86; 5 or 6 rows were slower).
//
// expRow(ptr, n4, scale, shift) → Σ: x ← exp(x·scale − shift) over 4·n4 floats at ptr, returning
// their (float32) sum; the softmax inner loop of attention. exp is Cephes' expf (range reduction
// by ln 2 in two parts, degree-6 polynomial, 2^n built in the exponent bits): within about 2 ulp
// of float32 over [−87.3, 88.4]; arguments are clamped to that range (exp(−87.3) ≈ 1e−38
// stands in for 0).

import { type Bytes, F32, I32, op, V128, type WasmFunction, wasmModule } from '../../wasm/writer.ts';

// Parameters and locals, by index.
const PA = 0;
const PB = 1;
const KC = 2;
const PANELS = 3;
const OUT = 4;
const LDO = 5;
const K = 6;
const PAP = 7;
const PBP = 8;
const O = 9;
const A = 10;
const B0 = 11;
const B1 = 12;
const ACC = 13; // 13 … 20: row r, half h at ACC + 2r + h

function panelFunction(): WasmFunction {
  const body = [];
  body.push(op.get(PB), op.set(PBP), op.get(OUT), op.set(O));
  body.push(op.loop); // over B panels (panels ≥ 1)
  for (let i = 0; i < 8; i++) body.push(op.v128Zero, op.set(ACC + i));
  body.push(op.get(PA), op.set(PAP), op.get(KC), op.set(K));
  body.push(op.loop); // over k (kc ≥ 1)
  body.push(op.get(PBP), op.v128Load(0), op.set(B0), op.get(PBP), op.v128Load(16), op.set(B1));
  for (let r = 0; r < 4; r++) {
    body.push(op.get(PAP), op.load32Splat(4 * r), op.set(A));
    for (let h = 0; h < 2; h++) {
      const acc = ACC + 2 * r + h;
      body.push(op.get(acc), op.get(A), op.get(h === 0 ? B0 : B1), op.f32x4Mul, op.f32x4Add, op.set(acc));
    }
  }
  body.push(op.get(PAP), op.i32(16), op.add, op.set(PAP));
  body.push(op.get(PBP), op.i32(32), op.add, op.set(PBP));
  body.push(op.get(K), op.i32(1), op.sub, op.tee(K), op.brIf(0), op.end);
  for (let r = 0; r < 4; r++) {
    for (let h = 0; h < 2; h++) {
      body.push(op.get(O));
      if (r > 0) body.push(op.get(LDO), op.i32(r), op.mul, op.add);
      body.push(op.get(ACC + 2 * r + h), op.v128Store(16 * h));
    }
  }
  body.push(op.get(O), op.i32(32), op.add, op.set(O));
  body.push(op.get(PANELS), op.i32(1), op.sub, op.tee(PANELS), op.brIf(0), op.end);
  return {
    name: 'panel',
    params: [I32, I32, I32, I32, I32, I32],
    results: [],
    locals: [I32, I32, I32, I32, V128, V128, V128, ...new Array<number>(8).fill(V128)],
    body,
  };
}

/** acc ← acc + x·b: one fused multiply-add where relaxed SIMD is there (`fma`), else mul then add. */
function madd(acc: number, x: number, b: number, fma: boolean) {
  if (fma) return [op.get(x), op.get(b), op.get(acc), op.f32x4RelaxedMadd, op.set(acc)];
  return [op.get(acc), op.get(x), op.get(b), op.f32x4Mul, op.f32x4Add, op.set(acc)];
}

function directFunction(rows: number, fma: boolean): WasmFunction {
  const [a, ars, aks, b, ldb, c, ldc, M, N8, K, add] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [m, j, k, pb, bj, cj, arow, crow] = [11, 12, 13, 14, 15, 16, 17, 18];
  const P = 19; // 19 … 19 + rows − 1: row pointers
  const [x, b0, b1] = [P + rows, P + rows + 1, P + rows + 2];
  const ACCS = P + rows + 3; // 2·rows accumulators
  const body = [];
  body.push(op.get(a), op.set(arow), op.get(c), op.set(crow), op.get(M), op.set(m));
  for (const R of [rows, 1]) {
    body.push(op.block, op.loop);
    body.push(op.get(m), op.i32(R), op.ltU, op.brIf(1));
    body.push(op.get(b), op.set(bj), op.get(crow), op.set(cj), op.get(N8), op.set(j));
    body.push(op.loop); // over 8-column panels
    for (let i = 0; i < 2 * R; i++) body.push(op.v128Zero, op.set(ACCS + i));
    for (let r = 0; r < R; r++) {
      body.push(op.get(arow));
      if (r > 0) body.push(op.get(ars), op.i32(r), op.mul, op.add);
      body.push(op.set(P + r));
    }
    body.push(op.get(bj), op.set(pb), op.get(K), op.set(k));
    body.push(op.loop); // over k
    body.push(op.get(pb), op.v128Load(0), op.set(b0), op.get(pb), op.v128Load(16), op.set(b1));
    for (let r = 0; r < R; r++) {
      body.push(op.get(P + r), op.load32Splat(0), op.set(x));
      for (let h = 0; h < 2; h++) {
        body.push(madd(ACCS + 2 * r + h, x, h === 0 ? b0 : b1, fma).flat());
      }
      body.push(op.get(P + r), op.get(aks), op.add, op.set(P + r));
    }
    body.push(op.get(pb), op.get(ldb), op.add, op.set(pb));
    body.push(op.get(k), op.i32(1), op.sub, op.tee(k), op.brIf(0), op.end);
    for (let r = 0; r < R; r++) {
      const addr = r === 0 ? [op.get(cj)] : [op.get(cj), op.get(ldc), op.i32(r), op.mul, op.add];
      for (let h = 0; h < 2; h++) {
        const acc = ACCS + 2 * r + h;
        body.push(op.get(add), op.if);
        body.push(...addr, ...addr, op.v128Load(16 * h), op.get(acc), op.f32x4Add, op.v128Store(16 * h));
        body.push(op.else, ...addr, op.get(acc), op.v128Store(16 * h), op.end);
      }
    }
    body.push(op.get(bj), op.i32(32), op.add, op.set(bj), op.get(cj), op.i32(32), op.add, op.set(cj));
    body.push(op.get(j), op.i32(1), op.sub, op.tee(j), op.brIf(0), op.end);
    body.push(op.get(arow), op.get(ars), op.i32(R), op.mul, op.add, op.set(arow));
    body.push(op.get(crow), op.get(ldc), op.i32(R), op.mul, op.add, op.set(crow));
    body.push(op.get(m), op.i32(R), op.sub, op.set(m));
    body.push(op.br(0), op.end, op.end);
  }
  return {
    name: 'direct',
    params: new Array<number>(11).fill(I32),
    results: [],
    locals: [...new Array<number>(8 + rows).fill(I32), ...new Array<number>(3 + 2 * rows).fill(V128)],
    body,
  };
}

// Adding 1.5·2²³ rounds a float32 |v| < 2²² to an integer (to nearest, in the FPU's mode) and
// leaves that integer in the low mantissa bits: cheaper than nearest + trunc_sat, which are
// several instructions each on x86.
const ROUND = 12582912;
const ROUND_BITS = new Int32Array(Float32Array.of(ROUND).buffer)[0];
const EXP_P = [
  1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1,
];

/**
 * y ← exp(x) in f32x4 lanes (locals x, fx, y; x and fx are overwritten): Cephes' expf, see the
 * top of the file. A NaN lane stays NaN (pmin/pmax with x first keep it).
 */
export function emitExp(x: number, fx: number, y: number): Bytes[] {
  const body: Bytes[] = [];
  body.push(op.get(x), op.f32x4Const(88.3762626647949), op.f32x4Pmin);
  body.push(op.f32x4Const(-87.3365478515625), op.f32x4Pmax, op.set(x));
  // fx = round(x / ln 2) + 1.5·2²³ (the integer n in its low bits); x −= n·ln 2 (as C1 + C2, C1
  // exact in float32)
  body.push(op.get(x), op.f32x4Const(Math.LOG2E), op.f32x4Mul, op.f32x4Const(ROUND), op.f32x4Add, op.set(fx));
  body.push(op.get(fx), op.f32x4Const(ROUND), op.f32x4Sub, op.set(y)); // n as a float
  body.push(op.get(x), op.get(y), op.f32x4Const(0.693359375), op.f32x4Mul, op.f32x4Sub);
  body.push(op.get(y), op.f32x4Const(-2.1219444e-4), op.f32x4Mul, op.f32x4Sub, op.set(x));
  // y = ((((P0 x + P1) x + P2) x + P3) x + P4) x + P5;  y = y x² + x + 1
  body.push(op.f32x4Const(EXP_P[0]));
  for (let i = 1; i < EXP_P.length; i++)
    body.push(op.get(x), op.f32x4Mul, op.f32x4Const(EXP_P[i]), op.f32x4Add);
  body.push(op.get(x), op.f32x4Mul, op.get(x), op.f32x4Mul, op.get(x), op.f32x4Add);
  body.push(op.f32x4Const(1), op.f32x4Add, op.set(y));
  // y ·= 2ⁿ, built as the float32 bit pattern (n + 127) << 23 from fx's bits (n in the low bits)
  body.push(op.get(y), op.get(fx), op.i32x4Const(127 - ROUND_BITS), op.i32x4Add);
  body.push(op.i32(23), op.i32x4Shl, op.f32x4Mul, op.set(y));
  return body;
}

function expRowFunction(): WasmFunction {
  const [ptr, n4, scale, shift, x, fx, y, acc, sc, sh] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const body = [];
  body.push(op.get(scale), op.f32x4Splat, op.set(sc), op.get(shift), op.f32x4Splat, op.set(sh));
  body.push(op.v128Zero, op.set(acc));
  body.push(op.loop);
  body.push(op.get(ptr), op.v128Load(0), op.get(sc), op.f32x4Mul, op.get(sh), op.f32x4Sub, op.set(x));
  body.push(...emitExp(x, fx, y));
  body.push(op.get(ptr), op.get(y), op.v128Store(0));
  body.push(op.get(acc), op.get(y), op.f32x4Add, op.set(acc));
  body.push(op.get(ptr), op.i32(16), op.add, op.set(ptr));
  body.push(op.get(n4), op.i32(1), op.sub, op.tee(n4), op.brIf(0), op.end);
  body.push(op.get(acc), op.f32x4ExtractLane(0), op.get(acc), op.f32x4ExtractLane(1), op.f32Add);
  body.push(op.get(acc), op.f32x4ExtractLane(2), op.get(acc), op.f32x4ExtractLane(3), op.f32Add, op.f32Add);
  return {
    name: 'expRow',
    params: [I32, I32, F32, F32],
    results: [F32],
    locals: [V128, V128, V128, V128, V128, V128],
    body,
  };
}

/** rowMax(ptr, n4) → max over 4·n4 floats at ptr (n4 ≥ 1): the softmax's row maximum. */
function rowMaxFunction(): WasmFunction {
  const [ptr, n4, acc] = [0, 1, 2];
  const body = [];
  body.push(op.get(ptr), op.v128Load(0), op.set(acc));
  body.push(op.get(n4), op.i32(1), op.sub, op.set(n4));
  body.push(op.block, op.loop, op.get(n4), op.eqz, op.brIf(1));
  body.push(op.get(ptr), op.i32(16), op.add, op.set(ptr));
  body.push(op.get(acc), op.get(ptr), op.v128Load(0), op.f32x4Pmax, op.set(acc)); // pmax: one instruction
  body.push(op.get(n4), op.i32(1), op.sub, op.set(n4), op.br(0), op.end, op.end);
  body.push(op.get(acc), op.f32x4ExtractLane(0), op.get(acc), op.f32x4ExtractLane(1), op.f32Max);
  body.push(op.get(acc), op.f32x4ExtractLane(2), op.get(acc), op.f32x4ExtractLane(3), op.f32Max, op.f32Max);
  return { name: 'rowMax', params: [I32, I32], results: [F32], locals: [V128], body };
}

/**
 * softmaxGradRow(p, d, n4, delta, scale): d ← p·(d − delta)·scale over 4·n4 floats (n4 ≥ 1), the
 * backward's dS from P and dP, in float32.
 */
function softmaxGradRowFunction(): WasmFunction {
  const [p, d, n4, delta, scale, dl, sc] = [0, 1, 2, 3, 4, 5, 6];
  const body = [];
  body.push(op.get(delta), op.f32x4Splat, op.set(dl), op.get(scale), op.f32x4Splat, op.set(sc));
  body.push(op.loop);
  body.push(op.get(d), op.get(p), op.v128Load(0), op.get(d), op.v128Load(0), op.get(dl), op.f32x4Sub);
  body.push(op.f32x4Mul, op.get(sc), op.f32x4Mul, op.v128Store(0));
  body.push(op.get(p), op.i32(16), op.add, op.set(p), op.get(d), op.i32(16), op.add, op.set(d));
  body.push(op.get(n4), op.i32(1), op.sub, op.tee(n4), op.brIf(0), op.end);
  return {
    name: 'softmaxGradRow',
    params: [I32, I32, I32, F32, F32],
    results: [],
    locals: [V128, V128],
    body,
  };
}

export interface SimdGemm {
  memory: WebAssembly.Memory;
  /** The compiled module, for worker threads to instantiate over the same (shared) memory. */
  module: WebAssembly.Module;
  /** Whether direct uses fused multiply-adds (relaxed SIMD). */
  fused: boolean;
  panel: (pa: number, pb: number, kc: number, panels: number, out: number, ldo: number) => void;
  expRow: (ptr: number, n4: number, scale: number, shift: number) => number;
  rowMax: (ptr: number, n4: number) => number;
  softmaxGradRow: (p: number, d: number, n4: number, delta: number, scale: number) => void;
  direct: (
    a: number,
    ars: number,
    aks: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
    M: number,
    N8: number,
    K: number,
    add: number,
  ) => void;
}

export interface SimdGemmOptions {
  /** Rows of the direct kernel's register tile (2·rows accumulators + 3 must fit the registers). */
  rows?: number;
  /** Use relaxed SIMD's fused multiply-add where the engine validates it. */
  fma?: boolean;
  /** A shared memory of at most this many pages (worker threads run the kernels on it too). */
  sharedMaxPages?: number;
}

/**
 * Instantiates the kernels over a fresh memory of `pages` pages; null where wasm SIMD is missing.
 * With relaxed SIMD (Chrome ≥ 114, Node ≥ 22) the direct kernel multiply-adds in one instruction.
 */
export function createSimdGemm(pages: number, options: SimdGemmOptions = {}): SimdGemm | null {
  if (typeof WebAssembly === 'undefined') return null;
  const { rows = 4, fma = true, sharedMaxPages } = options;
  const build = (useFma: boolean) =>
    wasmModule(
      [
        panelFunction(),
        expRowFunction(),
        directFunction(rows, useFma),
        rowMaxFunction(),
        softmaxGradRowFunction(),
      ],
      pages,
      sharedMaxPages,
    );
  let bytes = build(fma);
  let fused = fma;
  if (fma && !WebAssembly.validate(bytes)) {
    bytes = build(false);
    fused = false;
  }
  if (!WebAssembly.validate(bytes)) return null;
  const memory =
    sharedMaxPages === undefined
      ? new WebAssembly.Memory({ initial: pages })
      : new WebAssembly.Memory({ initial: pages, maximum: sharedMaxPages, shared: true });
  const module = new WebAssembly.Module(bytes);
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return {
    memory,
    module,
    fused,
    panel: instance.exports.panel as SimdGemm['panel'],
    expRow: instance.exports.expRow as SimdGemm['expRow'],
    direct: instance.exports.direct as SimdGemm['direct'],
    rowMax: instance.exports.rowMax as SimdGemm['rowMax'],
    softmaxGradRow: instance.exports.softmaxGradRow as SimdGemm['softmaxGradRow'],
  };
}
