// The matcher's two primitives over a growing automaton: the fallback ancestor (spec §1.5
// match_next: follow suffix links until a transition exists) and e(v). Each comes as a suffix-link
// walk or, on lanes where walks would go quadratic, as an AncestryIndex query; results are equal.

import type { AncestryIndex } from './ancestry.ts';
import type { SuffixAutomaton } from './automaton.ts';

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
  const trans = sam.trans;
  // "Has an a-transition" is closed under taking suffix-link parents, so the root decides.
  if (trans[a] === -1) return -1;
  if (runs && s !== 0 && sam.lastSym[s] === a) return 0;
  const sh = sam.shift;
  const link = sam.link;
  const masks = sam.masks;
  const limit = index === null ? -1 : index.walkFirst;
  let v = s;
  let steps = 0;
  while (masks !== null ? ((masks[v] >> a) & 1) === 0 : trans[(v << sh) | a] === -1) {
    if (steps === limit) {
      sam.work += steps;
      return index!.ancestorWithTransition(v, a);
    }
    v = link[v];
    steps++;
  }
  sam.work += steps;
  return v;
}

/**
 * found[i] = fallbackAncestor(s, syms[i]) for i < n, sharing one suffix-link walk for all symbols
 * when the automaton keeps transition masks (alphabet ≤ 32). `scratch` holds ≥ 32 entries.
 */
export function resolveFallbacks(
  sam: SuffixAutomaton,
  index: AncestryIndex | null,
  s: number,
  syms: Int32Array,
  n: number,
  runs: boolean,
  found: Int32Array,
  scratch: Int32Array,
): void {
  const masks = sam.masks;
  if (masks === null) {
    for (let i = 0; i < n; i++) found[i] = fallbackAncestor(sam, index, s, syms[i], runs);
    return;
  }
  const rootMask = masks[0];
  const endsWith = runs && s !== 0 ? sam.lastSym[s] : -1;
  let pending = 0;
  for (let i = 0; i < n; i++) {
    const a = syms[i];
    if (((rootMask >> a) & 1) === 0) found[i] = -1;
    else if (a === endsWith) found[i] = 0;
    else pending |= 1 << a;
  }
  if (pending === 0) return;
  const want = pending;
  const link = sam.link;
  const limit = index === null ? -1 : index.walkFirst;
  let v = s;
  let steps = 0;
  // Terminates at the root at the latest: every pending symbol is in rootMask.
  for (;;) {
    let hit = masks[v] & pending;
    if (hit !== 0) {
      pending ^= hit;
      while (hit !== 0) {
        scratch[31 - Math.clz32(hit & -hit)] = v;
        hit &= hit - 1;
      }
      if (pending === 0) break;
    }
    if (steps === limit) {
      while (pending !== 0) {
        const a = 31 - Math.clz32(pending & -pending);
        scratch[a] = index!.ancestorWithTransition(v, a);
        pending &= pending - 1;
      }
      break;
    }
    v = link[v];
    steps++;
  }
  sam.work += steps;
  for (let i = 0; i < n; i++) {
    const a = syms[i];
    if ((want >> a) & 1) found[i] = scratch[a];
  }
}

/** e(v): latest end position of v's strings so far. */
export function latestEnd(sam: SuffixAutomaton, index: AncestryIndex | null, v: number): number {
  return index === null ? sam.latest[v] : index.latestEnd(v);
}

/** Appends c at position pos and records its end: chain walk, or index insertion. */
export function indexSymbol(sam: SuffixAutomaton, index: AncestryIndex | null, c: number, pos: number): void {
  sam.extend(c);
  if (index === null) sam.commitEnd(pos);
  else index.insert(pos, c);
}
