// The threaded attention's per-(batch, head) work, as plain JavaScript in a string: the worker
// threads of matmul-threads.ts run it (their source is a string), and so does the calling
// thread (through new Function), so that every thread runs the same code. Each unit is one
// (batch, head) of attentionForwardDirect / attentionBackwardDirect (attention.ts), the same
// kernel calls in the same order on the same values, on a shared memory that holds every
// batch's operands at once; so the results are those of one thread to the bit (the tests hold
// the two copies of the loops to that). Its outputs (a head's D columns of O, or of dQ, dK, dV,
// and its lse row) are disjoint from every other unit's; its scratch (Kᵀ, Vᵀ, score blocks) is
// the running thread's slot.

import { ATTENTION_ARGS, ATTENTION_BACKWARD, ATTENTION_SCALE, KIND } from './matmul-threads-control.ts';

/** The attention arguments in the control block, in this order from ATTENTION_ARGS. */
export const ATTENTION_ARG_NAMES = [
  'B',
  'T',
  'H',
  'D',
  'W',
  'QB',
  'SB',
  'Tp',
  'ldS',
  'oQ',
  'oK',
  'oV',
  'oO',
  'oDO',
  'oDQ',
  'oDK',
  'oDV',
  'oLse',
  'oSlots',
  'slotFloats',
] as const;

export type AttentionArgs = Record<(typeof ATTENTION_ARG_NAMES)[number], number>;

const argReads = ATTENTION_ARG_NAMES.map((n, i) => `${n}: ctrl[${ATTENTION_ARGS + i}]`).join(', ');

// attentionKernels: the float-index wrappers of createAttentionKernels (attention-simd.ts) over
// one thread's instances. attentionUnit: unit u of the published call, on scratch slot `slot`.
export const ATTENTION_SOURCE = `
function attentionKernels(direct, blocks, memory) {
  let view = new Float32Array(memory.buffer);
  return {
    view() {
      // Another thread may have grown the memory since.
      if (view.length * 4 !== memory.buffer.byteLength) view = new Float32Array(memory.buffer);
      return view;
    },
    gemm(a, ars, aks, b, ldb, c, ldc, M, N, K, accumulate) {
      if (M === 0 || N === 0) return;
      if (K === 0) {
        if (!accumulate) for (let i = 0; i < M; i++) view.fill(0, c + i * ldc, c + i * ldc + N);
        return;
      }
      direct(4 * a, 4 * ars, 4 * aks, 4 * b, 4 * ldb, 4 * c, 4 * ldc, M, N >> 3, K, accumulate ? 1 : 0);
    },
    softmaxRows(s, ld, rows, last0, W, width, scale, stats) {
      if (rows > 0) blocks.softmaxRows(4 * s, 4 * ld, rows, last0, W, width, scale, 4 * stats);
    },
    dsRows(p, d, ld, rows, last0, W, width, scale, lse, delta) {
      if (rows > 0) blocks.dsRows(4 * p, 4 * d, 4 * ld, rows, last0, W, width, scale, 4 * lse, 4 * delta);
    },
    transpose(src, lds, dst, ldd, rows, cols) {
      const rows4 = rows >> 2;
      if (rows4 > 0 && cols > 0) blocks.transpose(4 * src, 4 * lds, 4 * dst, 4 * ldd, rows4, cols >> 2);
      for (let r = 4 * rows4; r < rows; r++) {
        for (let c = 0; c < cols; c++) view[dst + c * ldd + r] = view[src + r * lds + c];
      }
    },
    rowDots(a, b, ld, rows, D, out) {
      if (rows > 0 && D > 0) blocks.rowDots(4 * a, 4 * b, 4 * ld, rows, D >> 2, 4 * out);
    },
  };
}

function attentionUnit(K, ctrl, u, slot) {
  const A = { ${argReads} };
  const scale = new Float64Array(ctrl.buffer, ${4 * ATTENTION_SCALE}, 1)[0];
  const s = K.view();
  if (ctrl[${KIND}] === ${ATTENTION_BACKWARD}) attentionBackwardUnit(K, s, A, scale, u, slot);
  else attentionForwardUnit(K, s, A, scale, u, slot);
}

function attentionForwardUnit(K, s, A, scale, u, slot) {
  const { H, T, D, W, QB, Tp, ldS } = A;
  const C = H * D;
  const b = Math.floor(u / H), h = u - b * H;
  const hd = b * T * C + h * D; // the head's first channel in the batches' copies
  const lseRow = A.oLse + u * T;
  const oKT = A.oSlots + slot * A.slotFloats; // its padding is zero (the caller fills it)
  const oS = oKT + D * Tp;
  const oStats = oS + QB * ldS;
  K.transpose(A.oK + hd, C, oKT, Tp, T, D);
  for (let t0 = 0; t0 < T; t0 += QB) {
    const nq = Math.min(QB, T - t0);
    const lo = Math.max(0, t0 - W + 1);
    const nk = t0 + nq - lo;
    K.gemm(A.oQ + hd + t0 * C, C, 1, oKT + lo, Tp, oS, ldS, nq, (nk + 7) & ~7, D, false);
    K.softmaxRows(oS, ldS, nq, t0 - lo, W, nk, scale, oStats);
    for (let i = 0; i < nq; i++) s[lseRow + t0 + i] = s[oStats + 2 * i] + Math.log(s[oStats + 2 * i + 1]);
    K.gemm(oS, ldS, 1, A.oV + hd + lo * C, C, A.oO + hd + t0 * C, C, nq, D, nk, false);
  }
}

function attentionBackwardUnit(K, s, A, scale, u, slot) {
  const { H, T, D, W, QB, SB, Tp, ldS } = A;
  const C = H * D;
  const b = Math.floor(u / H), h = u - b * H;
  const hd = b * T * C + h * D;
  const lseRow = A.oLse + u * T;
  const oKT = A.oSlots + slot * A.slotFloats; // Kᵀ and Vᵀ padding zero (the caller fills it)
  const oVT = oKT + D * Tp;
  const oP = oVT + D * Tp;
  const oDS = oP + QB * ldS;
  const oDelta = oDS + QB * ldS;
  K.transpose(A.oK + hd, C, oKT, Tp, T, D);
  K.transpose(A.oV + hd, C, oVT, Tp, T, D);
  for (let t0 = 0; t0 < T; t0 += QB) {
    const nq = Math.min(QB, T - t0);
    const lo = Math.max(0, t0 - W + 1);
    const off = t0 - lo;
    const qo = hd + t0 * C;
    const ko = hd + lo * C;
    const oLse = lseRow + t0;
    K.rowDots(A.oDO + qo, A.oO + qo, C, nq, D, oDelta);
    for (let r0 = 0; r0 < nq; r0 += SB) {
      const nr = Math.min(SB, nq - r0);
      const nkr = off + r0 + nr;
      const rq = qo + r0 * C;
      K.gemm(A.oQ + rq, C, 1, oKT + lo, Tp, oP + r0 * ldS, ldS, nr, (nkr + 7) & ~7, D, false);
      K.gemm(A.oDO + rq, C, 1, oVT + lo, Tp, oDS + r0 * ldS, ldS, nr, (nkr + 7) & ~7, D, false);
      K.dsRows(oP + r0 * ldS, oDS + r0 * ldS, ldS, nr, off + r0, W, nkr, scale, oLse + r0, oDelta + r0);
      K.gemm(oDS + r0 * ldS, ldS, 1, A.oK + ko, C, A.oDQ + rq, C, nr, D, nkr, false);
    }
    const head = off + Math.min(SB, nq);
    K.gemm(oDS, 1, ldS, A.oQ + qo, C, A.oDK + ko, C, head, D, nq, true);
    K.gemm(oP, 1, ldS, A.oDO + qo, C, A.oDV + ko, C, head, D, nq, true);
    for (let c0 = SB; c0 < nq; c0 += SB) {
      const nc = Math.min(SB, nq - c0);
      const j = off + c0;
      const rq = qo + c0 * C;
      K.gemm(oDS + c0 * ldS + j, 1, ldS, A.oQ + rq, C, A.oDK + ko + j * C, C, nc, D, nq - c0, true);
      K.gemm(oP + c0 * ldS + j, 1, ldS, A.oDO + rq, C, A.oDV + ko + j * C, C, nc, D, nq - c0, true);
    }
  }
}
`;
