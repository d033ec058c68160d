// The 'rosa-tuning' scan of scan-kernels.ts (tuningLane), specialised for its common case: suffix-
// link walks (no index), an alphabet of at most 32 symbols (transition masks), the fallback walk
// and e-lookups written out over local views of the automaton's arrays. Same semantics, same
// outputs (tests compare both with the plain §1.5 scan); it exists because the generic loop,
// going through matching.ts for every lookup, costs 5–17% more per symbol (measured at T = 1k to
// 64k, random 4-bit input).

import type { ScanArena } from './arena.ts';
import { WALK_BUDGET } from './arena.ts';
import * as automaton from './automaton.ts';
import type { LaneInput, LaneOutputs, LaneResult } from './lane.ts';

// Module-local copies of the state-field offsets: hot loops read them as plain constants even
// where a bundler turns imports into property loads (CommonJS output halved the scan speed).
const { LATEST, LINK, MASK } = automaton;

/** Returns null when `budgeted` and the walks exceeded WALK_BUDGET (the caller switches to the index). */
export function tuningLaneWalk(
  input: LaneInput,
  out: LaneOutputs,
  arena: ScanArena,
  budgeted: boolean,
): LaneResult | null {
  const { q, qOffset, k, kOffset, T, bits } = input;
  const { dest, qRunId, rcf, kRunStart, rowOffset, rcfOffset } = out;
  const { sam, fallbackAt: at } = arena;
  sam.reset();
  const node = sam.node;
  const trans = sam.trans;
  const lastSym = sam.lastSym;
  const sh = sam.shift;
  const width = bits * 2;
  const budgetBase = budgeted ? WALK_BUDGET.base : Number.POSITIVE_INFINITY;
  const budgetPerSymbol = WALK_BUDGET.perSymbol;
  let lastRun = -1;
  let u = -1;
  let s = 0;
  let advanced = false;
  let prevK = -1;
  let prevQ = -1;
  // Fallback-walk steps; the e-update's steps are counted by commitEnd in sam.work.
  let work = 0;
  for (let t = 0; t < T; t++) {
    const c = k[kOffset + t];
    if (c !== prevK) {
      prevK = c;
      lastRun++;
      kRunStart[rowOffset + lastRun] = t;
      sam.extend(c);
      sam.commitEnd(lastRun); // the new run is the latest end of every suffix of the K-runs
    }
    const a = q[qOffset + t];
    const rootMask = node[MASK];
    let ns = -1;
    let run = -1;
    if (a !== prevQ) {
      // Q-run start: fallback states for a and its bit flips, one walk from s for all of them.
      prevQ = a;
      u++;
      advanced = false;
      let wanted = 1 << a;
      for (let j = 0; j < bits; j++) wanted |= 1 << (a ^ (1 << j));
      let pending = wanted & rootMask;
      if (s !== 0) {
        const x = lastSym[s];
        if ((pending >> x) & 1) {
          at[x] = 0; // no "xx" among runs: from a state ending in x only the root goes on with x
          pending ^= 1 << x;
        }
      }
      let v = s;
      while (pending !== 0) {
        let hit = node[(v << 2) | MASK] & pending;
        if (hit !== 0) {
          pending ^= hit;
          while (hit !== 0) {
            at[31 - Math.clz32(hit & -hit)] = v;
            hit &= hit - 1;
          }
          if (pending === 0) break;
        }
        v = node[(v << 2) | LINK];
        work++;
      }
      if ((rootMask >> a) & 1) {
        ns = trans[(at[a] << sh) | a];
        const next = node[(ns << 2) | LATEST] + 1;
        if (next <= lastRun) run = next;
      }
      const row = rcfOffset + u * width;
      for (let j = 0; j < bits; j++) {
        const x = a ^ (1 << j);
        let flipped = -1;
        if ((rootMask >> x) & 1) {
          const next = node[(trans[(at[x] << sh) | x] << 2) | LATEST] + 1;
          if (next <= lastRun) flipped = next;
        }
        const actualBit = (a >> j) & 1;
        rcf[row + 2 * j + actualBit] = run;
        rcf[row + 2 * j + 1 - actualBit] = flipped;
      }
    } else if ((rootMask >> a) & 1) {
      let v = s !== 0 && lastSym[s] === a ? 0 : s;
      while (((node[(v << 2) | MASK] >> a) & 1) === 0) {
        v = node[(v << 2) | LINK];
        work++;
      }
      ns = trans[(v << sh) | a];
      const next = node[(ns << 2) | LATEST] + 1;
      if (next <= lastRun) run = next;
    }
    qRunId[rowOffset + t] = u;
    dest[rowOffset + t] = run === -1 ? -1 : kRunStart[rowOffset + run];
    if (ns !== -1 && !advanced) {
      s = ns;
      advanced = true;
    }
    if (work + sam.work > budgetBase + budgetPerSymbol * t) {
      sam.work += work;
      return null;
    }
  }
  sam.work += work;
  rcf.fill(-1, rcfOffset + (u + 1) * width, rcfOffset + T * width);
  kRunStart.fill(-1, rowOffset + lastRun + 1, rowOffset + T);
  return { numQRuns: u + 1, numKRuns: lastRun + 1 };
}
