// The matcher's two primitives over a growing automaton: the fallback ancestor (spec §1.5
// match_next: follow suffix links until a transition exists) and e(v). Each comes as a suffix-link
// walk or, on lanes where walks would go quadratic, as an AncestryIndex query; results are equal.

import type { AncestryIndex } from './ancestry.ts';
import type { SuffixAutomaton } from './automaton.ts';
import * as automaton from './automaton.ts';

// Module-local copies of the state-field offsets: hot loops read them as plain constants even
// where a bundler turns imports into property loads (CommonJS output halved the scan speed).
const { LATEST, LINK, MASK } = automaton;

/**
 * Deepest suffix-link ancestor of s (s included) with an a-transition, or -1 if none.
 * `runs`: the text is a run sequence (never "aa"), so from a state whose strings end in a only
 * the root can continue with a.
 */
export function fallbackAncestor(
  sam: SuffixAutomaton,
  index: AncestryIndex | null,
  s: number,
  a: number,
  runs: boolean,
): number {
  const node = sam.node;
  const limit = index === null ? -1 : index.walkFirst;
  let v = s;
  let steps = 0;
  if (sam.hasMasks) {
    // "Has an a-transition" is closed under taking suffix-link parents, so the root decides.
    if (((node[MASK] >> a) & 1) === 0) return -1;
    if (runs && s !== 0 && sam.lastSym[s] === a) return 0;
    while (((node[(v << 2) | MASK] >> a) & 1) === 0) {
      if (steps === limit) return askIndex(sam, index!, v, a, steps);
      v = node[(v << 2) | LINK];
      steps++;
    }
  } else {
    const trans = sam.trans;
    const sh = sam.shift;
    if (trans[a] === -1) return -1;
    if (runs && s !== 0 && sam.lastSym[s] === a) return 0;
    while (trans[(v << sh) | a] === -1) {
      if (steps === limit) return askIndex(sam, index!, v, a, steps);
      v = node[(v << 2) | LINK];
      steps++;
    }
  }
  sam.work += steps;
  return v;
}

function askIndex(sam: SuffixAutomaton, index: AncestryIndex, v: number, a: number, steps: number): number {
  sam.work += steps;
  return index.ancestorWithTransition(v, a);
}

/**
 * at[x] = fallbackAncestor(s, x) for x = a and x = a with each of its low `bits` bits flipped
 * (the actual symbol and its counterfactuals), sharing one suffix-link walk for all of them when
 * the automaton keeps transition masks. `at` has one entry per symbol of the alphabet.
 */
export function resolveWithFlips(
  sam: SuffixAutomaton,
  index: AncestryIndex | null,
  s: number,
  a: number,
  bits: number,
  runs: boolean,
  at: Int32Array,
): void {
  if (!sam.hasMasks) {
    at[a] = fallbackAncestor(sam, index, s, a, runs);
    for (let j = 0; j < bits; j++) at[a ^ (1 << j)] = fallbackAncestor(sam, index, s, a ^ (1 << j), runs);
    return;
  }
  const node = sam.node;
  let wanted = 1 << a;
  for (let j = 0; j < bits; j++) wanted |= 1 << (a ^ (1 << j));
  const rootMask = node[MASK];
  // "Has an x-transition" is closed under suffix-link parents: symbols the root lacks have none.
  let absent = wanted & ~rootMask;
  while (absent !== 0) {
    at[31 - Math.clz32(absent & -absent)] = -1;
    absent &= absent - 1;
  }
  let pending = wanted & rootMask;
  if (runs && s !== 0) {
    // No "xx" in a run sequence: from a state ending in x only the root continues with x.
    const x = sam.lastSym[s];
    if ((pending >> x) & 1) {
      at[x] = 0;
      pending ^= 1 << x;
    }
  }
  const limit = index === null ? -1 : index.walkFirst;
  let v = s;
  let steps = 0;
  // Ends at the root at the latest: every pending symbol is in rootMask.
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
    if (steps === limit) {
      while (pending !== 0) {
        const x = 31 - Math.clz32(pending & -pending);
        at[x] = index!.ancestorWithTransition(v, x);
        pending &= pending - 1;
      }
      break;
    }
    v = node[(v << 2) | LINK];
    steps++;
  }
  sam.work += steps;
}

/** e(v): latest end position of v's strings so far. */
export function latestEnd(sam: SuffixAutomaton, index: AncestryIndex | null, v: number): number {
  return index === null ? sam.node[(v << 2) | LATEST] : index.latestEnd(v);
}

/** Appends c at position pos and records its end: chain walk, or index insertion. */
export function indexSymbol(sam: SuffixAutomaton, index: AncestryIndex | null, c: number, pos: number): void {
  sam.extend(c);
  if (index === null) sam.commitEnd(pos);
  else index.insert(pos, c);
}
