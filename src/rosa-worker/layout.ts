// The one place that defines how ROSA scan inputs and outputs are laid out in memory.
// The GPU kernels (shaders/rosa*.wgsl), the CPU twins (src/gpu/reference/rosa.ts),
// the worker pool and the SharedArrayBuffers between them all follow this file.
//
// A "lane" is one (batch element b, route r) pair: lane = b · R + r. Every per-lane
// array is a contiguous segment; lanes follow each other.
//
// Inputs (written by the GPU sign-pack kernel, read by the scan):
//   qSym, kSym   Uint8   [lane][Tpad]   symbol of route r at time t, < 2^bits (bits ≤ 8).
//                Tpad = ceil(T / 4) · 4, so the GPU can write whole u32 words (4 time
//                steps each, little-endian: byte t of the lane is bits 8·(t%4).. of word t/4).
//
// Outputs (written by the scan; on the GPU all i32). dest, qRunId, rcf and kRunStart go up as
// the narrow upload (packNarrowScan: u8 or u16 per field, widened on the GPU); the inverse lists
// are built on the GPU from them (shaders/rosa-scan-outputs.wgsl), so the scanners the model
// uses skip them (scanLanes' inverseIndices: false); buildInverseIndices is their CPU twin.
//   dest         Int32  [lane][T]        time whose v is read at t, or -1 (no match).
//   qRunId       Int32  [lane][T]        Q-run index u(t) (every t its own run in 'rwkv8').
//   rcf          Int32  [lane][T][bits][2]  per Q-run u (rows ≥ number of Q-runs are -1):
//                counterfactual K-run index when bit j of the run's first symbol is
//                forced to 0 ([..][j][0]) or to 1 ([..][j][1]); -1 for none. In 'rwkv8'
//                row t is token t and the index is the dest time (K-run l = token l).
//   kRunStart    Int32  [lane][T]        start time of K-run l (rows ≥ number of K-runs are -1;
//                in 'rwkv8' K-run l is the single token l).
//   destInvOffsets   Int32 [lane][T + 1]    CSR over retrieved time τ: the positions t with
//   destInvPositions Int32 [lane][T]        dest[t] = τ are destInvPositions[off[τ] .. off[τ+1])
//                (offsets are relative to the lane's segment, ascending t within a τ).
//                Lets the V gradient gather instead of scatter-add.
//   cfInvOffsets     Int32 [lane][T·bits·2 + 1]  CSR over key (l · bits + j) · 2 + β: the
//   cfInvPositions   Int32 [lane][T·bits·2]      positions t whose counterfactual with bit j
//                forced to β lands on K-run l, i.e. rcf[qRunId[t]][j][β] = l. Lets the K
//                gradient gather instead of scatter-add (WGSL has no float atomics).
//
// Memory: allocateScanInputs / allocateScanOutputs put every array in its own SharedArrayBuffer
// when `shared` (sharedMemoryAvailable(): Node, or a cross-origin isolated page), so the worker
// pool scans in place and the same buffers go to the GPU upload; otherwise plain ArrayBuffers,
// and the pool copies lane ranges through transferables. laneStrides gives each array's
// per-lane segment length.

export type RosaMode = 'rosa-tuning' | 'exact' | 'rwkv8';

export interface ScanShape {
  /** Number of lanes: batch · routes. */
  lanes: number;
  /** Sequence length. */
  T: number;
  /** Bits per route (alphabet 2^bits), 1..8. */
  bits: number;
}

export function paddedLength(T: number): number {
  return Math.ceil(T / 4) * 4;
}

/** Elements per lane of every array above (a lane's segment is contiguous, lanes in order). */
export function laneStrides({ T, bits }: Pick<ScanShape, 'T' | 'bits'>) {
  return {
    sym: paddedLength(T),
    dest: T,
    qRunId: T,
    rcf: T * bits * 2,
    kRunStart: T,
    destInvOffsets: T + 1,
    destInvPositions: T,
    cfInvOffsets: T * bits * 2 + 1,
    cfInvPositions: T * bits * 2,
  };
}

/** Element counts of every array in the layout above. */
export function scanSizes({ lanes, T, bits }: ScanShape) {
  return {
    sym: lanes * paddedLength(T),
    dest: lanes * T,
    qRunId: lanes * T,
    rcf: lanes * T * bits * 2,
    kRunStart: lanes * T,
    destInvOffsets: lanes * (T + 1),
    destInvPositions: lanes * T,
    cfInvOffsets: lanes * (T * bits * 2 + 1),
    cfInvPositions: lanes * T * bits * 2,
  };
}

export interface ScanOutputs {
  dest: Int32Array;
  qRunId: Int32Array;
  rcf: Int32Array;
  kRunStart: Int32Array;
  destInvOffsets: Int32Array;
  destInvPositions: Int32Array;
  cfInvOffsets: Int32Array;
  cfInvPositions: Int32Array;
}

/** Largest bits per route: symbols travel as bytes between the GPU, the workers and the scan. */
export const ROSA_MAX_BITS = 8;

export function checkScanShape({ lanes, T, bits }: ScanShape): void {
  if (!Number.isInteger(lanes) || lanes < 0)
    throw new RangeError(`lanes must be a whole number ≥ 0 (got ${lanes})`);
  if (!Number.isInteger(T) || T < 0) throw new RangeError(`T must be a whole number ≥ 0 (got ${T})`);
  if (!Number.isInteger(bits) || bits < 1 || bits > ROSA_MAX_BITS) {
    throw new RangeError(`bits per route must be 1..${ROSA_MAX_BITS} (got ${bits}): symbols travel as bytes`);
  }
}

/**
 * Fills destInv* and cfInv* of `out` from dest, qRunId and rcf for lanes [laneStart, laneEnd).
 * Counting sort, O(T · bits) per lane, no allocation: count per key, inclusive prefix sums (over
 * the keys that can be non-empty), then place positions walking t downward so each key's cursor
 * ends at its start offset (positions ascend within a key). Unused tail entries of the position
 * lists are -1.
 */
export function buildInverseIndices(
  out: ScanOutputs,
  shape: ScanShape,
  laneStart = 0,
  laneEnd = shape.lanes,
): void {
  const { T, bits } = shape;
  const width = bits * 2;
  const keys = T * width;
  const { dest, qRunId, rcf, destInvOffsets: offs, destInvPositions: pos } = out;
  const { cfInvOffsets: coffs, cfInvPositions: cpos } = out;
  for (let lane = laneStart; lane < laneEnd; lane++) {
    const d0 = lane * T;
    // dest → positions
    const o0 = lane * (T + 1);
    offs.fill(0, o0, o0 + T + 1);
    let top = -1;
    for (let t = 0; t < T; t++) {
      const tau = dest[d0 + t];
      if (tau >= 0) {
        offs[o0 + tau]++;
        if (tau > top) top = tau;
      }
    }
    // Prefix sums only over keys that can be non-empty; the rest all end at the total.
    let total = 0;
    for (let i = 0; i <= top; i++) {
      total += offs[o0 + i];
      offs[o0 + i] = total;
    }
    offs.fill(total, o0 + top + 1, o0 + T + 1);
    for (let t = T - 1; t >= 0; t--) {
      const tau = dest[d0 + t];
      if (tau >= 0) pos[d0 + --offs[o0 + tau]] = t;
    }
    pos.fill(-1, d0 + total, d0 + T);

    // (K-run l, bit j, β) → positions. Positions of one Q-run share their keys, so count per run.
    const c0 = lane * (keys + 1);
    const r0 = lane * keys;
    coffs.fill(0, c0, c0 + keys + 1);
    let topKey = -1;
    for (let t = 0; t < T; ) {
      const u = qRunId[d0 + t];
      let end = t + 1;
      while (end < T && qRunId[d0 + end] === u) end++;
      const row = r0 + u * width;
      for (let jb = 0; jb < width; jb++) {
        const l = rcf[row + jb];
        if (l >= 0) {
          const key = l * width + jb;
          coffs[c0 + key] += end - t;
          if (key > topKey) topKey = key;
        }
      }
      t = end;
    }
    total = 0;
    for (let i = 0; i <= topKey; i++) {
      total += coffs[c0 + i];
      coffs[c0 + i] = total;
    }
    coffs.fill(total, c0 + topKey + 1, c0 + keys + 1);
    // Place whole runs, last run first: each key gets a block of consecutive positions.
    for (let end = T; end > 0; ) {
      const u = qRunId[d0 + end - 1];
      let start = end - 1;
      while (start > 0 && qRunId[d0 + start - 1] === u) start--;
      const n = end - start;
      const row = r0 + u * width;
      for (let jb = 0; jb < width; jb++) {
        const l = rcf[row + jb];
        if (l >= 0) {
          const key = c0 + l * width + jb;
          coffs[key] -= n;
          const at = r0 + coffs[key];
          for (let i = 0; i < n; i++) cpos[at + i] = start + i;
        }
      }
      end = start;
    }
    cpos.fill(-1, r0 + total, r0 + keys);
  }
}

/** Largest T whose scan results (all in -1..T-1) travel to the GPU as u16 (value + 1). */
export const NARROW_SCAN_MAX_T = 65535;

/** The scan results that go to the GPU; the inverse lists are built there from them. */
export const UPLOADED_SCAN_FIELDS = ['dest', 'qRunId', 'rcf', 'kRunStart'] as const;

/** Elements of the narrow upload: dest, qRunId, rcf, kRunStart one after the other. */
export function narrowScanElements({ lanes, T, bits }: ScanShape): number {
  return lanes * T * (3 + 2 * bits);
}

/**
 * Where each field of a narrow upload lies: `starts` (u32 word of each field's first element, in
 * UPLOADED_SCAN_FIELDS order), `wide` (bit f set: field f is u16, else u8) and `words` in all.
 */
export interface NarrowScanLayout {
  starts: [number, number, number, number];
  wide: number;
  words: number;
}

/** u32 words of the largest narrow upload for `shape` (every field u16). */
export function narrowScanMaxWords(shape: ScanShape): number {
  const sizes = scanSizes(shape);
  return UPLOADED_SCAN_FIELDS.reduce((sum, f) => sum + Math.ceil(sizes[f] / 2), 0);
}

/**
 * Packs dest | qRunId | rcf | kRunStart as value + 1 (so -1 is 0), each field in u8 when its
 * largest value fits (K-run and Q-run indices usually do at T = 256), else u16, little-endian,
 * each field starting on a u32 word: a quarter to half of the i32 bytes
 * (shaders/rosa-scan-outputs.wgsl widens them). `into` is reused when long enough.
 * Throws when T is over NARROW_SCAN_MAX_T.
 */
export function packNarrowScan(
  out: ScanOutputs,
  shape: ScanShape,
  into?: Uint32Array,
): { packed: Uint32Array; layout: NarrowScanLayout } {
  if (shape.T > NARROW_SCAN_MAX_T) {
    throw new RangeError(`T = ${shape.T} is over ${NARROW_SCAN_MAX_T}: scan results do not fit 16 bits`);
  }
  const maxWords = narrowScanMaxWords(shape);
  const packed = into && into.length >= maxWords ? into : new Uint32Array(maxWords);
  const sizes = scanSizes(shape);
  const starts: [number, number, number, number] = [0, 0, 0, 0];
  let wide = 0;
  let word = 0;
  for (const [f, field] of UPLOADED_SCAN_FIELDS.entries()) {
    const src = out[field];
    const n = sizes[field];
    let top = 0;
    for (let i = 0; i < n; i++) if (src[i] > top) top = src[i];
    const bytes = top + 1 <= 0xff ? 1 : 2;
    starts[f] = word;
    const fieldWords = Math.ceil((n * bytes) / 4);
    if (fieldWords > 0) packed[word + fieldWords - 1] = 0; // the last word may be partly unused
    if (bytes === 2) {
      wide |= 1 << f;
      const halves = new Uint16Array(packed.buffer, packed.byteOffset + word * 4, n);
      for (let i = 0; i < n; i++) halves[i] = src[i] + 1;
    } else {
      const view = new Uint8Array(packed.buffer, packed.byteOffset + word * 4, n);
      for (let i = 0; i < n; i++) view[i] = src[i] + 1;
    }
    word += fieldWords;
  }
  return { packed, layout: { starts, wide, words: word } };
}

/**
 * Whether SharedArrayBuffer can be used: always in Node; in a browser only on a cross-origin
 * isolated page (COOP same-origin + COEP require-corp), else the worker pool copies through
 * transferable ArrayBuffers.
 */
export function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer !== 'function') return false;
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  return isolated !== false;
}

export interface ScanSymbols {
  qSym: Uint8Array;
  kSym: Uint8Array;
}

/** Symbol arrays for a batch ([lane][Tpad] bytes), in SharedArrayBuffers when `shared`. */
export function allocateScanInputs(shape: ScanShape, shared = false): ScanSymbols {
  const n = scanSizes(shape).sym;
  const make = () =>
    new Uint8Array(shared ? new SharedArrayBuffer(Math.max(4, n)) : new ArrayBuffer(n), 0, n);
  return { qSym: make(), kSym: make() };
}

export function allocateScanOutputs(shape: ScanShape, shared = false): ScanOutputs {
  const sizes = scanSizes(shape);
  const make = (n: number) =>
    new Int32Array(shared ? new SharedArrayBuffer(Math.max(4, n * 4)) : new ArrayBuffer(n * 4), 0, n);
  return {
    dest: make(sizes.dest),
    qRunId: make(sizes.qRunId),
    rcf: make(sizes.rcf),
    kRunStart: make(sizes.kRunStart),
    destInvOffsets: make(sizes.destInvOffsets),
    destInvPositions: make(sizes.destInvPositions),
    cfInvOffsets: make(sizes.cfInvOffsets),
    cfInvPositions: make(sizes.cfInvPositions),
  };
}
