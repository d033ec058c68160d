// Public scan API: BlinkDL's rosa and rosa-QKV on arbitrary integer symbols, the ROSA-Tuning scan
// on one route, and `scanLanes`, the batched entry over the layout of layout.ts that the worker
// pool and the CPU model backend call. Semantics are documented on the kernels (scan-kernels.ts).

import { arenaFor, ScanArena, type ScanEngine, type ScanStrategy } from './arena.ts';
import type { LaneOutputs } from './lane.ts';
import {
  buildInverseIndices,
  checkScanShape,
  paddedLength,
  type RosaMode,
  type ScanOutputs,
  type ScanShape,
  scanSizes,
} from './layout.ts';
import { scanLane } from './scan-kernels.ts';

export type { ScanEngine, ScanStrategy } from './arena.ts';
export { ScanArena } from './arena.ts';

export interface ScanOptions {
  /** How e(v) and fallback ancestors are computed; outputs are identical (see ScanStrategy). */
  strategy?: ScanStrategy;
  /** Fallback steps walked before asking the index on indexed lanes (default 8; 0 = always ask). */
  fallbackWalk?: number;
  /** Which code runs the 'rosa-tuning' walk (see ScanEngine; default 'auto': wasm where available). */
  engine?: ScanEngine;
}

function makeArena(T: number, alphabet: number, options: ScanOptions): ScanArena {
  const arena = new ScanArena(T, alphabet, options.strategy ?? 'auto', options.engine ?? 'auto');
  if (options.fallbackWalk !== undefined) arena.fallbackWalk = options.fallbackWalk;
  return arena;
}

/** Dense ids for arbitrary integer symbols: k's values get 0..m-1, q values absent from k get m. */
function compact(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
): { q: Int32Array; k: Int32Array; alphabet: number } {
  const ids = new Map<number, number>();
  const kIds = new Int32Array(k.length);
  for (let i = 0; i < k.length; i++) {
    let id = ids.get(k[i]);
    if (id === undefined) {
      id = ids.size;
      ids.set(k[i], id);
    }
    kIds[i] = id;
  }
  const absent = ids.size;
  const qIds = new Int32Array(q.length);
  for (let i = 0; i < q.length; i++) qIds[i] = ids.get(q[i]) ?? absent;
  return { q: qIds, k: kIds, alphabet: absent + 1 };
}

/**
 * BlinkDL's rosa (spec §1.2): y_i = x_{j+1} for the longest suffix of x[0..i] that also ends at
 * some j < i, the latest such j; -1 when no suffix recurs. Equal to rosaQkv(x, x, x).y.
 */
export function rosa(x: ArrayLike<number>, options: ScanOptions = {}): Int32Array {
  return rosaQkv(x, x, x, options).y;
}

/**
 * BlinkDL's QKV variant (spec §1.3), raw: y_i = v[j + w] where w is the longest length with
 * q[i-w+1..i] = k[j..j+w-1], j + w - 1 ≤ i - 1, and j the largest such start; -1 when w = 0.
 * matchLen_i = w. (The released code returns max(0, y).)
 */
export function rosaQkv(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  options: ScanOptions = {},
): { y: Int32Array; matchLen: Int32Array } {
  const T = q.length;
  if (k.length !== T || v.length !== T) {
    throw new RangeError(`q, k and v must have the same length (got ${T}, ${k.length}, ${v.length})`);
  }
  const sym = compact(q, k);
  const arena = makeArena(T, sym.alphabet, options);
  const dest = new Int32Array(T);
  const matchLen = new Int32Array(T);
  const out: LaneOutputs = {
    dest,
    qRunId: new Int32Array(T),
    rcf: new Int32Array(0),
    kRunStart: new Int32Array(T),
    rowOffset: 0,
    rcfOffset: 0,
    matchLen,
  };
  scanLane('rwkv8', { q: sym.q, qOffset: 0, k: sym.k, kOffset: 0, T, bits: 0 }, out, arena);
  const y = new Int32Array(T);
  for (let t = 0; t < T; t++) y[t] = dest[t] < 0 ? -1 : v[dest[t]];
  return { y, matchLen };
}

function toSymbols(name: string, x: ArrayLike<number>, bits: number): Uint8Array {
  const out = new Uint8Array(x.length);
  const limit = 1 << bits;
  for (let i = 0; i < x.length; i++) {
    const s = x[i];
    if (!Number.isInteger(s) || s < 0 || s >= limit) {
      throw new RangeError(`${name}[${i}] = ${s} is not a symbol of ${bits} bits (0..${limit - 1})`);
    }
    out[i] = s;
  }
  return out;
}

export interface RosaTuningScanResult {
  /** [T] time whose v is read at t, or -1. */
  dest: Int32Array;
  /** [T] Q-run index of t. */
  qRunId: Int32Array;
  /** [numQRuns · bits · 2], flattened [qRun][bit][forced to 0, forced to 1]: K-run index or -1. */
  rcf: Int32Array;
  /** [numKRuns] start time of each K-run. */
  kRunStart: Int32Array;
}

/**
 * One route of the ROSA-Tuning scan on symbols of `bits` bits.
 *  'rosa-tuning' (default): the released training scan, quirks included (spec §1.5);
 *  'exact': the idealised longest-suffix rule on runs (spec §1.5, vectors exactDest), with
 *           counterfactuals defined by the same rule (see exactLane in scan-kernels.ts);
 *  'rwkv8': BlinkDL's per-token rule on the same outputs (every t its own run; rcf has T rows,
 *           kRunStart T entries).
 * Lengths: dest and qRunId T; rcf numQRuns · bits · 2; kRunStart numKRuns.
 */
export function rosaTuningScan(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  bits: number,
  mode: RosaMode = 'rosa-tuning',
  options: ScanOptions = {},
): RosaTuningScanResult {
  const T = q.length;
  if (k.length !== T) throw new RangeError(`q and k must have the same length (got ${T} and ${k.length})`);
  checkScanShape({ lanes: 1, T, bits });
  const arena = makeArena(T, 1 << bits, options);
  const out: LaneOutputs = {
    dest: new Int32Array(T),
    qRunId: new Int32Array(T),
    rcf: new Int32Array(T * bits * 2),
    kRunStart: new Int32Array(T),
    rowOffset: 0,
    rcfOffset: 0,
  };
  const input = { q: toSymbols('q', q, bits), qOffset: 0, k: toSymbols('k', k, bits), kOffset: 0, T, bits };
  const { numQRuns, numKRuns } = scanLane(mode, input, out, arena);
  return {
    dest: out.dest,
    qRunId: out.qRunId,
    rcf: out.rcf.slice(0, numQRuns * bits * 2),
    kRunStart: out.kRunStart.slice(0, numKRuns),
  };
}

/** Symbols of a batched scan, laid out as in layout.ts ([lane][Tpad] bytes). */
export interface ScanInput {
  mode: RosaMode;
  shape: ScanShape;
  qSym: Uint8Array;
  kSym: Uint8Array;
}

/** Throws a RangeError naming the array if it is too short for the shape. */
export function checkScanBuffers(input: ScanInput, outputs: ScanOutputs): void {
  checkScanShape(input.shape);
  const sizes = scanSizes(input.shape);
  const need: [string, { length: number }, number][] = [
    ['qSym', input.qSym, sizes.sym],
    ['kSym', input.kSym, sizes.sym],
    ['dest', outputs.dest, sizes.dest],
    ['qRunId', outputs.qRunId, sizes.qRunId],
    ['rcf', outputs.rcf, sizes.rcf],
    ['kRunStart', outputs.kRunStart, sizes.kRunStart],
    ['destInvOffsets', outputs.destInvOffsets, sizes.destInvOffsets],
    ['destInvPositions', outputs.destInvPositions, sizes.destInvPositions],
    ['cfInvOffsets', outputs.cfInvOffsets, sizes.cfInvOffsets],
    ['cfInvPositions', outputs.cfInvPositions, sizes.cfInvPositions],
  ];
  for (const [name, array, n] of need) {
    if (array.length < n) {
      const { lanes, T, bits } = input.shape;
      throw new RangeError(
        `${name} holds ${array.length} elements; lanes=${lanes} T=${T} bits=${bits} need ${n}`,
      );
    }
  }
}

export interface ScanLanesOptions {
  /** Build destInv* / cfInv* too (default true; a CPU backward that scatters can skip them). */
  inverseIndices?: boolean;
  /** Sets the arena's engine (see ScanEngine) for this and later calls with it. */
  engine?: ScanEngine;
}

/**
 * Scans lanes [laneStart, laneEnd) of a batch on this thread: reads qSym/kSym, writes dest, qRunId,
 * rcf, kRunStart and the inverse index lists of those lanes (nothing outside them). Pass the arena
 * returned by the previous call to reuse its memory; the arena used is returned.
 */
export function scanLanes(
  input: ScanInput,
  outputs: ScanOutputs,
  laneStart = 0,
  laneEnd = input.shape.lanes,
  arena?: ScanArena,
  options: ScanLanesOptions = {},
): ScanArena {
  checkScanBuffers(input, outputs);
  const { T, bits, lanes } = input.shape;
  if (!(0 <= laneStart && laneStart <= laneEnd && laneEnd <= lanes)) {
    throw new RangeError(`lane range [${laneStart}, ${laneEnd}) is outside 0..${lanes}`);
  }
  const work = arenaFor(arena, T, 1 << bits);
  if (options.engine !== undefined) work.engine = options.engine;
  const Tpad = paddedLength(T);
  const out: LaneOutputs = {
    dest: outputs.dest,
    qRunId: outputs.qRunId,
    rcf: outputs.rcf,
    kRunStart: outputs.kRunStart,
    rowOffset: 0,
    rcfOffset: 0,
  };
  const { qSym, kSym } = input;
  for (let lane = laneStart; lane < laneEnd; lane++) {
    const base = lane * Tpad;
    let seen = 0;
    for (let t = 0; t < T; t++) seen |= qSym[base + t] | kSym[base + t];
    if (seen >> bits) {
      let t = 0;
      while ((qSym[base + t] | kSym[base + t]) >> bits === 0) t++;
      const bad = Math.max(qSym[base + t], kSym[base + t]);
      throw new RangeError(`lane ${lane}, t=${t}: symbol ${bad} does not fit ${bits} bits`);
    }
    out.rowOffset = lane * T;
    out.rcfOffset = lane * T * bits * 2;
    scanLane(input.mode, { q: input.qSym, qOffset: base, k: input.kSym, kOffset: base, T, bits }, out, work);
  }
  if (options.inverseIndices !== false) buildInverseIndices(outputs, input.shape, laneStart, laneEnd);
  return work;
}
