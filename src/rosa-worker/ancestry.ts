// Sub-linear replacement for the two suffix-link walks that go quadratic on periodic text:
// the e-update (spec §1.1) and the matcher's fallback ("first suffix-link ancestor with an
// a-transition", spec §1.5 match_next).
//
// Why a static index is enough although the automaton grows online: the key sequence is known
// before the scan starts, so we first build the automaton of the whole sequence (the "final"
// automaton) and index its suffix-link tree. Rebuilding online gives the same state ids, and for
// every state v that exists after the first L+1 symbols:
//   * e_L(v) = max { p ≤ L : prefixState[p] lies in v's final subtree }
//     (v's longest string never changes, and its end positions at time L are its final end
//     positions ≤ L), so e is a range maximum over the Euler interval of v, and since positions
//     arrive in increasing order an insertion just overwrites the segment-tree path;
//   * v has an a-transition at time L  ⇔  some p with p + 1 ≤ L, key[p + 1] = a has
//     prefixState[p] in v's final subtree (prefixState[-1] = root). So the deepest ancestor of s
//     with an a-transition is the deepest ancestor whose subtree holds an "a-mark", which is the
//     deeper of lca(s, nearest a-mark before s in Euler order) and lca(s, nearest after), unless a
//     mark lies inside s's own subtree. A state created later (a clone split above some q) is
//     never the answer: q is below it on the same path and holds the same marks at time L.
// Costs: build O(n), every query O(log n). Heavy-light decomposition gives the LCA.

import type { SuffixAutomaton } from './automaton.ts';
import * as automaton from './automaton.ts';

// Module-local copies of the state-field offsets: hot loops read them as plain constants even
// where a bundler turns imports into property loads (CommonJS output halved the scan speed).
const { LEN, LINK } = automaton;

export class AncestryIndex {
  /**
   * Suffix-link steps a fallback walks before asking the index: short walks are cheaper than a
   * query, and most fallbacks are short.
   */
  walkFirst = 8;
  private readonly capacity: number;
  private readonly parent: Int32Array;
  private readonly tin: Int32Array;
  private readonly tout: Int32Array;
  private readonly head: Int32Array;
  private readonly nodeAt: Int32Array;
  private readonly subtree: Int32Array;
  private readonly heavy: Int32Array;
  private readonly childStart: Int32Array;
  private readonly childList: Int32Array;
  private readonly byLen: Int32Array;
  private readonly lenCount: Int32Array;
  private readonly stack: Int32Array;
  /** Segment tree over Euler positions holding the latest end position (or -1). */
  private readonly latestTree: Int32Array;
  /** Per symbol, a hierarchical bitset over Euler positions of the marks (see header). */
  private readonly marks: Int32Array;
  private readonly markLevelOffset: Int32Array;
  private readonly markLevelWords: Int32Array;
  private readonly markLevels: number;
  private readonly markStride: number;
  /** Number of tree nodes (states of the final automaton). */
  private n = 0;
  /** Euler position of the prefix state of each indexed symbol position. */
  private readonly prefixTin: Int32Array;

  constructor(stateCapacity: number, alphabet: number, maxSymbols: number) {
    this.capacity = stateCapacity;
    const c = stateCapacity;
    this.parent = new Int32Array(c);
    this.tin = new Int32Array(c);
    this.tout = new Int32Array(c);
    this.head = new Int32Array(c);
    this.nodeAt = new Int32Array(c);
    this.subtree = new Int32Array(c);
    this.heavy = new Int32Array(c);
    this.childStart = new Int32Array(c + 1);
    this.childList = new Int32Array(c);
    this.byLen = new Int32Array(c);
    this.lenCount = new Int32Array(maxSymbols + 2);
    this.stack = new Int32Array(c);
    this.latestTree = new Int32Array(2 * c);
    this.prefixTin = new Int32Array(Math.max(1, maxSymbols));
    const levelWords: number[] = [];
    let words = Math.ceil(c / 32);
    for (;;) {
      levelWords.push(words);
      if (words === 1) break;
      words = Math.ceil(words / 32);
    }
    this.markLevelWords = new Int32Array(levelWords);
    this.markLevelOffset = new Int32Array(levelWords.length);
    let total = 0;
    for (let i = 0; i < levelWords.length; i++) {
      this.markLevelOffset[i] = total;
      total += levelWords[i];
    }
    this.marks = new Int32Array(total * alphabet);
    this.markLevels = levelWords.length;
    this.markStride = total;
  }

  get bytes(): number {
    return (
      this.parent.byteLength * 11 +
      this.childStart.byteLength +
      this.lenCount.byteLength +
      this.latestTree.byteLength +
      this.prefixTin.byteLength +
      this.marks.byteLength
    );
  }

  /**
   * Indexes the suffix-link tree of `sam`, which must hold the whole key sequence, and clears
   * the dynamic parts (latest ends, marks) for an online replay.
   */
  build(sam: SuffixAutomaton): void {
    const n = sam.size;
    if (n > this.capacity) throw new RangeError(`automaton of ${n} states exceeds the index capacity`);
    this.n = n;
    const { parent, subtree, heavy, childStart, childList, byLen, lenCount } = this;
    const node = sam.node;
    for (let v = 0; v < n; v++) parent[v] = node[(v << 2) | LINK];

    // Children in CSR form, counting sort by parent.
    childStart.fill(0, 0, n + 1);
    for (let v = 1; v < n; v++) childStart[parent[v] + 1]++;
    for (let v = 0; v < n; v++) childStart[v + 1] += childStart[v];
    for (let v = 1; v < n; v++) childList[childStart[parent[v]]++] = v;
    for (let v = n; v > 0; v--) childStart[v] = childStart[v - 1];
    childStart[0] = 0;

    // Subtree sizes and heavy children, children first: a child is longer than its parent.
    const maxLen = sam.count;
    lenCount.fill(0, 0, maxLen + 2);
    for (let v = 0; v < n; v++) lenCount[node[(v << 2) | LEN] + 1]++;
    for (let l = 0; l <= maxLen; l++) lenCount[l + 1] += lenCount[l];
    for (let v = 0; v < n; v++) byLen[lenCount[node[(v << 2) | LEN]]++] = v;
    subtree.fill(1, 0, n);
    heavy.fill(-1, 0, n);
    for (let i = n - 1; i > 0; i--) {
      const v = byLen[i];
      const p = parent[v];
      subtree[p] += subtree[v];
      const h = heavy[p];
      if (h === -1 || subtree[v] > subtree[h]) heavy[p] = v;
    }

    // Preorder with the heavy child visited first, so every heavy path is an Euler interval.
    const { tin, tout, head, nodeAt, stack } = this;
    let top = 0;
    let timer = 0;
    stack[top++] = 0;
    head[0] = 0;
    while (top > 0) {
      const v = stack[--top];
      tin[v] = timer;
      nodeAt[timer++] = v;
      tout[v] = tin[v] + subtree[v] - 1;
      const h = heavy[v];
      for (let i = childStart[v]; i < childStart[v + 1]; i++) {
        const c = childList[i];
        if (c !== h) {
          head[c] = c;
          stack[top++] = c;
        }
      }
      if (h !== -1) {
        head[h] = head[v];
        stack[top++] = h;
      }
    }

    for (let p = 0; p < sam.count; p++) this.prefixTin[p] = tin[sam.prefixState[p]];

    this.latestTree.fill(-1, 0, 2 * n);
    this.marks.fill(0);
  }

  /**
   * Records that symbol position `pos` (holding symbol c) was indexed: the latest end of every
   * ancestor of its prefix state is now pos, and the prefix state of pos − 1 (the root for
   * pos = 0) gained a c-transition.
   */
  insert(pos: number, c: number): void {
    const tree = this.latestTree;
    for (let i = this.prefixTin[pos] + this.n; i >= 1; i >>= 1) tree[i] = pos;
    this.mark(c, pos === 0 ? 0 : this.prefixTin[pos - 1]);
  }

  /** e(v) at the current time: latest end position of v's strings, or -1. */
  latestEnd(v: number): number {
    const tree = this.latestTree;
    let lo = this.tin[v] + this.n;
    let hi = this.tout[v] + this.n + 1;
    let best = -1;
    while (lo < hi) {
      if (lo & 1) {
        if (tree[lo] > best) best = tree[lo];
        lo++;
      }
      if (hi & 1) {
        hi--;
        if (tree[hi] > best) best = tree[hi];
      }
      lo >>= 1;
      hi >>= 1;
    }
    return best;
  }

  /** Deepest suffix-link ancestor of s (s included) that has an a-transition now, or -1. */
  ancestorWithTransition(s: number, a: number): number {
    const x = this.tin[s];
    const after = this.nextMark(a, x);
    if (after !== -1 && after <= this.tout[s]) return s;
    const before = x > 0 ? this.prevMark(a, x - 1) : -1;
    let best = -1;
    if (after !== -1) best = this.lca(s, this.nodeAt[after]);
    if (before !== -1) {
      const other = this.lca(s, this.nodeAt[before]);
      if (best === -1 || this.tin[other] > this.tin[best]) best = other;
    }
    return best;
  }

  private lca(a: number, b: number): number {
    const { head, tin, parent } = this;
    while (head[a] !== head[b]) {
      if (tin[head[a]] > tin[head[b]]) a = parent[head[a]];
      else b = parent[head[b]];
    }
    return tin[a] < tin[b] ? a : b;
  }

  private mark(a: number, x: number): void {
    const base = a * this.markStride;
    const words = this.marks;
    let pos = x;
    for (let lvl = 0; lvl < this.markLevels; lvl++) {
      const w = base + this.markLevelOffset[lvl] + (pos >> 5);
      const before = words[w];
      words[w] = before | (1 << (pos & 31));
      if (before !== 0) return; // upper levels already know this word is non-empty
      pos >>= 5;
    }
  }

  /** Smallest marked Euler position ≥ x for symbol a, or -1. */
  private nextMark(a: number, x: number): number {
    const base = a * this.markStride;
    const words = this.marks;
    const levels = this.markLevels;
    let lvl = 0;
    let pos = x;
    for (;;) {
      if (lvl === levels) return -1;
      const w = pos >> 5;
      if (w >= this.markLevelWords[lvl]) return -1;
      const m = words[base + this.markLevelOffset[lvl] + w] & (-1 << (pos & 31));
      if (m !== 0) {
        pos = (w << 5) | (31 - Math.clz32(m & -m));
        break;
      }
      pos = w + 1;
      lvl++;
    }
    while (lvl > 0) {
      lvl--;
      const m = words[base + this.markLevelOffset[lvl] + pos];
      pos = (pos << 5) | (31 - Math.clz32(m & -m));
    }
    return pos;
  }

  /** Largest marked Euler position ≤ x for symbol a, or -1. */
  private prevMark(a: number, x: number): number {
    const base = a * this.markStride;
    const words = this.marks;
    const levels = this.markLevels;
    let lvl = 0;
    let pos = x;
    for (;;) {
      if (lvl === levels || pos < 0) return -1;
      const w = pos >> 5;
      const bit = pos & 31;
      const keep = bit === 31 ? -1 : (1 << (bit + 1)) - 1;
      const m = words[base + this.markLevelOffset[lvl] + w] & keep;
      if (m !== 0) {
        pos = (w << 5) | (31 - Math.clz32(m));
        break;
      }
      pos = w - 1;
      lvl++;
    }
    while (lvl > 0) {
      lvl--;
      const m = words[base + this.markLevelOffset[lvl] + pos];
      pos = (pos << 5) | (31 - Math.clz32(m));
    }
    return pos;
  }
}
