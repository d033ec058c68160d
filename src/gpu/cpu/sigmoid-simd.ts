// σ(temp·x) = 1 / (1 + exp(−temp·x)) in float64 over a float32 array, two lanes at a time in
// WebAssembly SIMD (f64x2), bit for bit what `1 / (1 + Math.exp(-(temp * x)))` gives in V8.
//
// Why bit for bit: the CPU ROSA backward (rosa.ts) must equal its twin in src/gpu/reference,
// which calls Math.exp; the σ's were most of that backward's time (≈ 11 ns each, three per
// element). V8's Math.exp is fdlibm's exp (src/base/ieee754.cc): reduce x = k·ln2 + r with ln 2
// in two parts, a degree-5 rational approximation of exp(r), then scale by 2^k. That arithmetic
// is all IEEE double operations without fused multiply-adds, so the same operations in wasm
// (which rounds every f64x2 operation the same way) give the same doubles. The branches of the
// scalar code become masks: |x| ≤ ½ln2 takes k = 0; ½ln2 < |x| < 1.5 ln2 takes k = ±1; beyond,
// k = trunc(x/ln2 ± ½); |x| < 2⁻²⁸ returns 1 + x; x = 1 returns e. With k = 0 the k ≠ 0 formula
// gives the k = 0 result exactly (negating a divisor negates the quotient), so one formula serves.
// Arguments with |x| ≥ 700 (where 2^k would leave the normal range) and NaN are not handled: the
// kernel reports them and the caller recomputes the array with Math.exp.
//
// If an engine's Math.exp ever stops being fdlibm's, test/gpu/cpu/sigmoid-simd.test.ts fails
// (it compares against Math.exp on a wide sample) and the ROSA backward tests with it.

import { I32, op, uleb, V128, type WasmFunction, wasmModule } from '../../wasm/writer.ts';

const F64 = 0x7c;
const PAGE = 65536;

/** The f64x2 instructions this kernel needs (SIMD prefix 0xfd), beyond writer.ts's f32x4 set. */
const simd = (code: number): number[] => [0xfd, ...uleb(code)];
const f64 = {
  load64Zero: (offset: number) => [...simd(0x5d), 3, ...uleb(offset)],
  store: (offset: number) => [...simd(0x0b), 3, ...uleb(offset)],
  /** v128.const with the double `v` in both lanes. */
  const: (v: number) => {
    const lane = [...new Uint8Array(Float64Array.of(v).buffer)];
    return [...simd(0x0c), ...lane, ...lane];
  },
  /** v128.const with the 64-bit pattern hi:lo in both lanes. */
  bits: (hi: number, lo: number) => {
    const lane = [...new Uint8Array(Uint32Array.of(lo, hi).buffer)];
    return [...simd(0x0c), ...lane, ...lane];
  },
  splat: simd(0x14),
  promoteLow: simd(0x5f),
  eq: simd(0x47),
  lt: simd(0x49),
  ge: simd(0x4c),
  not: simd(0x4d),
  and: simd(0x4e),
  or: simd(0x50),
  bitselect: simd(0x52),
  anyTrue: simd(0x53),
  trunc: simd(0x7a),
  abs: simd(0xec),
  neg: simd(0xed),
  add: simd(0xf0),
  sub: simd(0xf1),
  mul: simd(0xf2),
  div: simd(0xf3),
  i64x2Shl: simd(0xcb),
};

/** The double with these high and low 32-bit words: fdlibm gives its constants this way. */
const fromWords = (hi: number, lo: number) => new Float64Array(Uint32Array.of(lo, hi).buffer)[0];
const LN2_HI = fromWords(0x3fe62e42, 0xfee00000);
const LN2_LO = fromWords(0x3dea39ef, 0x35793c76);
const INV_LN2 = fromWords(0x3ff71547, 0x652b82fe);
const P1 = fromWords(0x3fc55555, 0x5555553e);
const P2 = fromWords(0xbf66c16c, 0x16bebd93);
const P3 = fromWords(0x3f11566a, 0xaf25de2c);
const P4 = fromWords(0xbebbbd41, 0xc5d26bf1);
const P5 = fromWords(0x3e663769, 0x72bea4d0);
/** The thresholds fdlibm takes from the high word of |x| (its low word zero). */
const highWord = (hi: number) => fromWords(hi, 0);
const HALF_LN2_ABOVE = highWord(0x3fd62e43); // |x| > ½ln2 ⇔ |x| ≥ this
const ONE_HALF_LN2 = highWord(0x3ff0a2b2); // |x| < 1.5 ln2 ⇔ |x| < this
const TINY = highWord(0x3e300000); // 2⁻²⁸
/** Beyond this |x|, 2^k may leave the normal doubles: left to Math.exp. */
const LIMIT = 700;

/**
 * sigmoid(src, dst, pairs, temp) → 1 if some argument was NaN or |temp·x| ≥ 700 (those results
 * are wrong and the caller must recompute), else 0. src: 2·pairs float32, dst: 2·pairs float64.
 */
function sigmoidFunction(): WasmFunction {
  // Parameters, then locals: the working vectors, then the constants (set once, before the loop:
  // a v128.const inside it would be rebuilt every iteration).
  const [src, dst, pairs, temp] = [0, 1, 2, 3];
  const [t, bad, x, ax, k, hi, lo, xr, tt, c, y, far] = [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
  const constants = [
    f64.bits(0x80000000, 0),
    f64.const(LIMIT),
    f64.const(ONE_HALF_LN2),
    f64.const(HALF_LN2_ABOVE),
    f64.const(INV_LN2),
    f64.const(0.5),
    f64.const(1),
    f64.const(LN2_HI),
    f64.const(LN2_LO),
    f64.const(P1),
    f64.const(P2),
    f64.const(P3),
    f64.const(P4),
    f64.const(P5),
    f64.const(2),
    f64.const(2 ** 52 + 1023),
    f64.const(Math.E),
    f64.const(TINY),
  ];
  const first = 16;
  const cst = (i: number) => op.get(first + i);
  const [SIGN, LIM, FAR, NEAR, INV, HALF, ONE, HI, LO, Q1, Q2, Q3, Q4, Q5, TWO, EXP, E, TINYV] =
    constants.map((_, i) => cst(i));
  const b: number[][] = [];
  for (const [i, value] of constants.entries()) b.push(value, op.set(first + i));
  b.push(op.get(temp), f64.splat, op.set(t), op.v128Zero, op.set(bad));
  b.push(op.block, op.loop, op.get(pairs), op.eqz, op.brIf(1));
  // x = −(temp·v): the argument of exp.
  b.push(op.get(src), f64.load64Zero(0), f64.promoteLow, op.get(t), f64.mul, f64.neg, op.set(x));
  b.push(op.get(x), f64.abs, op.set(ax));
  b.push(op.get(bad), op.get(ax), LIM, f64.lt, f64.not, f64.or, op.set(bad));
  // k: 0 for |x| ≤ ½ln2, ±1 up to 1.5 ln2, trunc(x/ln2 ± ½) beyond (signs as fdlibm's, −0 negative).
  b.push(op.get(ax), FAR, f64.ge, op.set(far));
  b.push(op.get(x), INV, f64.mul, op.get(x), SIGN, f64.and, HALF, f64.or, f64.add, f64.trunc);
  b.push(op.get(x), SIGN, f64.and, ONE, f64.or, op.v128Zero);
  b.push(op.get(ax), NEAR, f64.ge, f64.bitselect); // ±1 from ½ln2 on, else 0
  b.push(op.get(far), f64.bitselect, op.set(k));
  b.push(op.get(x), op.get(k), HI, f64.mul, f64.sub, op.set(hi));
  b.push(op.get(k), LO, f64.mul, op.set(lo));
  b.push(op.get(hi), op.get(lo), f64.sub, op.tee(xr), op.get(xr), f64.mul, op.set(tt));
  // c = r − t·(P1 + t·(P2 + t·(P3 + t·(P4 + t·P5)))).
  b.push(op.get(xr), op.get(tt), op.get(tt), op.get(tt), op.get(tt), op.get(tt), Q5, f64.mul);
  b.push(Q4, f64.add, f64.mul, Q3, f64.add, f64.mul, Q2, f64.add, f64.mul, Q1, f64.add, f64.mul);
  b.push(f64.sub, op.set(c));
  // y = 1 − ((lo − r·c/(2 − c)) − hi), times 2^k: k + 2⁵² + 1023 holds k + 1023 in its low
  // mantissa bits (exactly, as |k| < 2¹⁰), which the shift moves into the exponent field.
  b.push(ONE, op.get(lo), op.get(xr), op.get(c), f64.mul, TWO, op.get(c), f64.sub);
  b.push(f64.div, f64.sub, op.get(hi), f64.sub, f64.sub);
  b.push(op.get(k), EXP, f64.add, op.i32(52), f64.i64x2Shl, f64.mul, op.set(y));
  // x = 1 gives e exactly (V8's special case); |x| < 2⁻²⁸ gives 1 + x.
  b.push(E, op.get(y), op.get(x), ONE, f64.eq, f64.bitselect, op.set(y));
  b.push(ONE, op.get(x), f64.add, op.get(y), op.get(ax), TINYV, f64.lt, f64.bitselect, op.set(y));
  b.push(op.get(dst), ONE, ONE, op.get(y), f64.add, f64.div, f64.store(0));
  b.push(op.get(src), op.i32(8), op.add, op.set(src), op.get(dst), op.i32(16), op.add, op.set(dst));
  b.push(op.get(pairs), op.i32(1), op.sub, op.set(pairs), op.br(0), op.end, op.end);
  b.push(op.get(bad), f64.anyTrue);
  return {
    name: 'sigmoid',
    params: [I32, I32, I32, F64],
    results: [I32],
    locals: new Array<number>(12 + constants.length).fill(V128),
    body: b,
  };
}

interface Kernel {
  memory: WebAssembly.Memory;
  sigmoid: (src: number, dst: number, pairs: number, temp: number) => number;
}

let kernel: Kernel | null | undefined;

function kernelOrNull(): Kernel | null {
  if (kernel !== undefined) return kernel;
  kernel = null;
  if (typeof WebAssembly === 'undefined') return kernel;
  const bytes = wasmModule([sigmoidFunction()], 1);
  if (!WebAssembly.validate(bytes)) return kernel;
  const memory = new WebAssembly.Memory({ initial: 1 });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  kernel = { memory, sigmoid: instance.exports.sigmoid as Kernel['sigmoid'] };
  return kernel;
}

/** Whether sigmoidInto runs in wasm SIMD here (else it is the scalar loop). */
export function sigmoidSimdAvailable(): boolean {
  return kernelOrNull() !== null;
}

/** The scalar definition: what the twins compute, element by element. */
function sigmoidScalar(x: Float32Array, temp: number, out: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = 1 / (1 + Math.exp(-(temp * x[i])));
}

/**
 * out[i] = 1 / (1 + Math.exp(−(temp·x[i]))) for i < n (default x.length), bit for bit; in wasm
 * SIMD where there is one, falling back to Math.exp for an array with NaN or |temp·x| ≥ 700.
 * `scalar` forces the Math.exp loop (for comparisons).
 */
export function sigmoidInto(
  x: Float32Array,
  temp: number,
  out: Float64Array,
  n = x.length,
  scalar = false,
): void {
  if (x.length < n || out.length < n)
    throw new RangeError(`sigmoidInto: ${n} elements asked of arrays of ${x.length} and ${out.length}`);
  const k = scalar ? null : kernelOrNull();
  if (!k || n < 2) {
    sigmoidScalar(x, temp, out, n);
    return;
  }
  const pairs = n >> 1;
  // [x as float32 | out as float64], the output 16-byte aligned.
  const srcBytes = Math.ceil((4 * n) / 16) * 16;
  const need = srcBytes + 8 * n;
  const have = k.memory.buffer.byteLength;
  if (need > have) k.memory.grow(Math.ceil((need - have) / PAGE));
  new Float32Array(k.memory.buffer, 0, n).set(x.subarray(0, n));
  if (k.sigmoid(0, srcBytes, pairs, temp) !== 0) {
    sigmoidScalar(x, temp, out, n);
    return;
  }
  out.set(new Float64Array(k.memory.buffer, srcBytes, 2 * pairs));
  // An odd last element, on its own.
  if (n & 1) out[n - 1] = 1 / (1 + Math.exp(-(temp * x[n - 1])));
}
