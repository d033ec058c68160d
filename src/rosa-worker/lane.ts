// One lane's scan (one batch element × route): its input symbols, where its outputs go in the
// layout arrays of layout.ts, and what it returns. Types only, shared by the kernels
// (scan-kernels.ts, tuning-fast.ts) and the batched scan (scan.ts) without importing each other.

export type SymbolArray = Uint8Array | Int32Array;

/** Where one lane's outputs go (offsets into the layout arrays). */
export interface LaneOutputs {
  dest: Int32Array;
  qRunId: Int32Array;
  rcf: Int32Array;
  kRunStart: Int32Array;
  /** Offset of the lane's [T] rows in dest, qRunId and kRunStart. */
  rowOffset: number;
  /** Offset of the lane's [T][bits][2] block in rcf. */
  rcfOffset: number;
  /** Optional per-t matched length ('rwkv8' only; BlinkDL's matchLen). */
  matchLen?: Int32Array;
}

export interface LaneInput {
  q: SymbolArray;
  qOffset: number;
  k: SymbolArray;
  kOffset: number;
  T: number;
  bits: number;
}

export interface LaneResult {
  numQRuns: number;
  numKRuns: number;
}
