// One lane (one batch element × route) of each ROSA semantics, writing straight into the
// layout arrays of layout.ts at the given offsets. Shared by the single-route API, the batched
// `scanLanes` and the workers. The matcher logic is written once per semantics; whether e(v) and
// the fallback ancestor come from suffix-link walks or from the AncestryIndex is decided per lane
// (`index` null or not), with identical results.

import type { AncestryIndex } from './ancestry.ts';
import { type ScanArena, WALK_BUDGET } from './arena.ts';
import type { SuffixAutomaton } from './automaton.ts';
import * as automaton from './automaton.ts';
import type { LaneInput, LaneOutputs, LaneResult } from './lane.ts';
import type { RosaMode } from './layout.ts';
import { fallbackAncestor, indexSymbol, latestEnd, resolveWithFlips } from './matching.ts';
import { tuningLaneWalk } from './tuning-fast.ts';

// Module-local copies of the state-field offsets: hot loops read them as plain constants even
// where a bundler turns imports into property loads (CommonJS output halved the scan speed).
const { LEN, LINK } = automaton;

function linkOf(node: Int32Array, v: number): number {
  return node[(v << 2) | LINK];
}

function lenOf(node: Int32Array, v: number): number {
  return node[(v << 2) | LEN];
}

/** Moves v up to the state whose length range holds h (after a clone took v's shorter strings). */
function holding(node: Int32Array, v: number, h: number): number {
  while (lenOf(node, linkOf(node, v)) >= h) v = linkOf(node, v);
  return v;
}

function overBudget(sam: SuffixAutomaton, t: number): boolean {
  return sam.work > WALK_BUDGET.base + WALK_BUDGET.perSymbol * t;
}

/** Rows past the last Q-run / K-run are -1 (layout.ts). */
function clearTail(out: LaneOutputs, T: number, bits: number, numQRuns: number, numKRuns: number): void {
  out.rcf.fill(-1, out.rcfOffset + numQRuns * bits * 2, out.rcfOffset + T * bits * 2);
  out.kRunStart.fill(-1, out.rowOffset + numKRuns, out.rowOffset + T);
}

/**
 * 'rosa-tuning': the released 12.29 training scan (spec §1.5), quirks included: K-runs up to the
 * one holding t are indexed before t is queried; counterfactuals at each Q-run start from the
 * state before consuming it; the matcher moves at most once per Q-run and is not reset (nor is
 * its length tracked) when a symbol is missing.
 * Returns null when the walk budget ran out (only with index === null and a finite budget).
 */
function tuningLane(
  input: LaneInput,
  out: LaneOutputs,
  arena: ScanArena,
  index: AncestryIndex | null,
  budgeted: boolean,
): LaneResult | null {
  const { q, qOffset, k, kOffset, T, bits } = input;
  const { dest, qRunId, rcf, kRunStart, rowOffset, rcfOffset } = out;
  const { sam, fallbackAt: at } = arena;
  sam.reset();
  const trans = sam.trans;
  const sh = sam.shift;
  let lastRun = -1;
  let u = -1;
  let s = 0;
  let advanced = false;
  let prevK = -1;
  let prevQ = -1;
  for (let t = 0; t < T; t++) {
    const c = k[kOffset + t];
    if (c !== prevK) {
      prevK = c;
      lastRun++;
      kRunStart[rowOffset + lastRun] = t;
      indexSymbol(sam, index, c, lastRun);
    }
    const a = q[qOffset + t];
    let ns: number;
    let run = -1;
    if (a !== prevQ) {
      // Q-run start: match a and, for the counterfactuals, a with each bit flipped, all from s.
      prevQ = a;
      u++;
      advanced = false;
      resolveWithFlips(sam, index, s, a, bits, true, at);
      ns = at[a] === -1 ? -1 : trans[(at[a] << sh) | a];
      if (ns !== -1) {
        const next = latestEnd(sam, index, ns) + 1;
        if (next <= lastRun) run = next;
      }
      const row = rcfOffset + u * bits * 2;
      for (let j = 0; j < bits; j++) {
        const x = a ^ (1 << j);
        const w = at[x];
        let flipped = -1;
        if (w !== -1) {
          const next = latestEnd(sam, index, trans[(w << sh) | x]) + 1;
          if (next <= lastRun) flipped = next;
        }
        const actualBit = (a >> j) & 1;
        rcf[row + 2 * j + actualBit] = run;
        rcf[row + 2 * j + 1 - actualBit] = flipped;
      }
    } else {
      const w = fallbackAncestor(sam, index, s, a, true);
      ns = w === -1 ? -1 : trans[(w << sh) | a];
      if (ns !== -1) {
        const next = latestEnd(sam, index, ns) + 1;
        if (next <= lastRun) run = next;
      }
    }
    qRunId[rowOffset + t] = u;
    dest[rowOffset + t] = run === -1 ? -1 : kRunStart[rowOffset + run];
    if (ns !== -1 && !advanced) {
      s = ns;
      advanced = true;
    }
    if (budgeted && overBudget(sam, t)) return null;
  }
  clearTail(out, T, bits, u + 1, lastRun + 1);
  return { numQRuns: u + 1, numKRuns: lastRun + 1 };
}

/**
 * Longest common suffix of qRunSym[0..i] and kRunSym[0..j]. D(i, j) = D(i-1, j-1) + 1 while the
 * symbols agree, so each diagonal i − j caches its last answer and later queries on that diagonal
 * only compare the symbols added since (or stop at the first mismatch).
 */
function commonSuffix(arena: ScanArena, i: number, j: number, T: number): number {
  const qs = arena.qRunSym;
  const ks = arena.kRunSym;
  const d = i - j + T;
  const cachedAt = arena.diagAt[d];
  let n = 0;
  let result: number;
  for (;;) {
    const ii = i - n;
    const jj = j - n;
    if (ii < 0 || jj < 0) {
      result = n;
      break;
    }
    if (ii === cachedAt) {
      result = n + arena.diagLength[d];
      break;
    }
    if (qs[ii] !== ks[jj]) {
      result = n;
      break;
    }
    n++;
  }
  arena.sam.work += n;
  arena.diagAt[d] = i;
  arena.diagLength[d] = result;
  return result;
}

/**
 * 'exact': the idealised rule. At time t, let Qr = the Q-run symbols up to u(t) and Kr = the
 * K-run symbols up to rcap(t) (the run holding t included). Take the longest suffix of Qr that
 * occurs in Kr (length ≥ 1) and its latest occurrence, ending at run e; dest = start time of run
 * e + 1 if that run exists yet, else -1 (no fallback to older or shorter matches); -1 if no
 * suffix occurs. The matcher (v, h) tracks that suffix exactly: a Q step is ordinary matching
 * with length tracking; a K step can lengthen it only by an occurrence ending at the new run,
 * i.e. to the longest common suffix of Qr and Kr.
 * Counterfactual rcf[u][j][β] = the K-run index (e + 1, or -1) that the same rule gives at the
 * Q-run start b_u if the run's symbol had bit j forced to β, i.e. one matching step from the
 * matcher state before consuming it; for β equal to the actual bit it is the actual result at b_u.
 * Cost: the index replaces the e-update and fallback walks as in the other modes, but the
 * common-suffix comparisons and the walk to the lengthened match stay plain; they are short on
 * ordinary and periodic input, and only inputs whose Q and K runs keep sliding back and forth
 * over long equal stretches make them superlinear.
 */
function exactLane(
  input: LaneInput,
  out: LaneOutputs,
  arena: ScanArena,
  index: AncestryIndex | null,
  budgeted: boolean,
): LaneResult | null {
  const { q, qOffset, k, kOffset, T, bits } = input;
  const { dest, qRunId, rcf, kRunStart, rowOffset, rcfOffset } = out;
  const { sam, fallbackAt: at } = arena;
  sam.reset();
  arena.diagAt.fill(-1, 0, 2 * T + 1);
  const node = sam.node;
  const trans = sam.trans;
  const sh = sam.shift;
  let lastRun = -1;
  let u = -1;
  let v = 0;
  let h = 0;
  let prevK = -1;
  let prevQ = -1;
  for (let t = 0; t < T; t++) {
    const c = k[kOffset + t];
    if (c !== prevK) {
      prevK = c;
      lastRun++;
      arena.kRunSym[lastRun] = c;
      kRunStart[rowOffset + lastRun] = t;
      indexSymbol(sam, index, c, lastRun);
      // A clone may have taken the shorter strings of v, the matched one among them.
      if (h > 0) v = holding(node, v, h);
      if (u >= 0 && arena.qRunSym[u] === c) {
        const g = commonSuffix(arena, u, lastRun, T);
        if (g > h) {
          // The Q-run sequence's suffix of length g now occurs, ending at the new run.
          h = g;
          v = sam.last;
          while (lenOf(node, linkOf(node, v)) >= g) {
            v = linkOf(node, v);
            sam.work++;
          }
        }
      }
    }
    const a = q[qOffset + t];
    const runStart = a !== prevQ;
    if (runStart) {
      prevQ = a;
      u++;
      arena.qRunSym[u] = a;
      resolveWithFlips(sam, index, v, a, bits, true, at);
      const row = rcfOffset + u * bits * 2;
      for (let j = 0; j < bits; j++) {
        const x = a ^ (1 << j);
        const w = at[x];
        let run = -1;
        if (w !== -1) {
          const next = latestEnd(sam, index, trans[(w << sh) | x]) + 1;
          if (next <= lastRun) run = next;
        }
        rcf[row + 2 * j + 1 - ((a >> j) & 1)] = run;
      }
      const w = at[a];
      if (w === -1) {
        v = 0;
        h = 0;
      } else {
        h = w === v ? h + 1 : lenOf(node, w) + 1;
        v = trans[(w << sh) | a];
      }
    }
    let run = -1;
    if (h > 0) {
      const next = latestEnd(sam, index, v) + 1;
      if (next <= lastRun) run = next;
    }
    if (runStart) {
      const row = rcfOffset + u * bits * 2;
      for (let j = 0; j < bits; j++) rcf[row + 2 * j + ((a >> j) & 1)] = run;
    }
    qRunId[rowOffset + t] = u;
    dest[rowOffset + t] = run === -1 ? -1 : kRunStart[rowOffset + run];
    if (budgeted && overBudget(sam, t)) return null;
  }
  clearTail(out, T, bits, u + 1, lastRun + 1);
  return { numQRuns: u + 1, numKRuns: lastRun + 1 };
}

/**
 * 'rwkv8': BlinkDL's per-token QKV rule (spec §1.3) on the same layout. q_t is matched (length
 * tracked, longest suffix, latest occurrence) against k_0..k_{t-1}, then k_t is indexed.
 * dest[t] = j + w, the time whose v is read, or -1; every t is its own Q-run and token l its own
 * K-run. rcf[t][j][β] = the dest time q_t would get with bit j forced to β, matched from the
 * matcher state before consuming q_t.
 */
function rwkv8Lane(
  input: LaneInput,
  out: LaneOutputs,
  arena: ScanArena,
  index: AncestryIndex | null,
  budgeted: boolean,
): LaneResult | null {
  const { q, qOffset, k, kOffset, T, bits } = input;
  const { dest, qRunId, rcf, kRunStart, rowOffset, rcfOffset, matchLen } = out;
  const { sam, fallbackAt: at } = arena;
  sam.reset();
  const node = sam.node;
  const trans = sam.trans;
  const sh = sam.shift;
  let v = 0;
  let h = 0;
  for (let t = 0; t < T; t++) {
    const a = q[qOffset + t];
    const row = rcfOffset + t * bits * 2;
    resolveWithFlips(sam, index, v, a, bits, false, at);
    for (let j = 0; j < bits; j++) {
      const x = a ^ (1 << j);
      const w = at[x];
      rcf[row + 2 * j + 1 - ((a >> j) & 1)] = w === -1 ? -1 : latestEnd(sam, index, trans[(w << sh) | x]) + 1;
    }
    const w = at[a];
    if (w === -1) {
      v = 0;
      h = 0;
    } else {
      h = w === v ? h + 1 : lenOf(node, w) + 1;
      v = trans[(w << sh) | a];
    }
    const d = h > 0 ? latestEnd(sam, index, v) + 1 : -1;
    dest[rowOffset + t] = d;
    for (let j = 0; j < bits; j++) rcf[row + 2 * j + ((a >> j) & 1)] = d;
    if (matchLen) matchLen[rowOffset + t] = h;
    qRunId[rowOffset + t] = t;
    kRunStart[rowOffset + t] = t;
    indexSymbol(sam, index, k[kOffset + t], t);
    if (h > 0) v = holding(node, v, h);
    if (budgeted && overBudget(sam, t)) return null;
  }
  return { numQRuns: T, numKRuns: T };
}

/** Indexes the whole key sequence (runs or tokens) so the AncestryIndex can be built from it. */
function indexWholeKey(sam: SuffixAutomaton, input: LaneInput, runs: boolean): void {
  sam.reset();
  let prev = -1;
  for (let t = 0; t < input.T; t++) {
    const c = input.k[input.kOffset + t];
    if (runs && c === prev) continue;
    prev = c;
    sam.extend(c);
  }
}

function runKernel(
  mode: RosaMode,
  input: LaneInput,
  out: LaneOutputs,
  arena: ScanArena,
  index: AncestryIndex | null,
  budgeted: boolean,
): LaneResult | null {
  if (mode === 'rosa-tuning') {
    if (index === null && arena.sam.hasMasks) {
      const wasm = arena.tuningWasm();
      const result = wasm ? wasm.laneWalk(input, out, budgeted ? WALK_BUDGET : null) : undefined;
      // undefined: no wasm here, or its memory could not grow to this lane.
      return result !== undefined ? result : tuningLaneWalk(input, out, arena, budgeted);
    }
    return tuningLane(input, out, arena, index, budgeted);
  }
  if (mode === 'exact') return exactLane(input, out, arena, index, budgeted);
  return rwkv8Lane(input, out, arena, index, budgeted);
}

/** Scans one lane with the arena's strategy (see ScanStrategy). */
export function scanLane(mode: RosaMode, input: LaneInput, out: LaneOutputs, arena: ScanArena): LaneResult {
  if (arena.strategy !== 'indexed') {
    const result = runKernel(mode, input, out, arena, null, arena.strategy === 'auto');
    if (result !== null) return result;
  }
  const index = arena.index;
  index.walkFirst = arena.fallbackWalk;
  indexWholeKey(arena.sam, input, mode !== 'rwkv8');
  index.build(arena.sam);
  arena.indexedLanes++;
  const result = runKernel(mode, input, out, arena, index, false);
  if (result === null) throw new Error('unreachable: indexed scans have no budget');
  return result;
}
