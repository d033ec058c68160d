// Online suffix automaton (Blumer et al. 1985) over a dense alphabet, in typed arrays that are
// allocated once and reused for every lane (no allocation while scanning).
//
// Per state v, four int32 fields side by side in `node` (one suffix-link step touches one cache
// line, which matters because every step of a walk is a dependent load):
//   node[v·4 + LINK]    suffix link (-1 for the root, state 0)
//   node[v·4 + LEN]     length of the longest string of v
//   node[v·4 + LATEST]  e(v): latest end position of v's strings in the indexed text, -1 if none
//                       (kept by `commitEnd`, the reference chain walk of spec §1.1)
//   node[v·4 + MASK]    bit a set iff v has an a-transition (alphabets ≤ 32): fallback walks test
//                       this word instead of a table row, and one walk serves several symbols
// and apart from it:
//   trans[v << shift | a]  target state on symbol a. With masks, cells are only read where the
//                          mask bit is set (so the table is never cleared); without, -1 = none.
//   lastSym[v]             the symbol every string of v ends with (-1 for the root)
//   prefixState[p]         the state created for the prefix text[0..p]

export const LINK = 0;
export const LEN = 1;
export const LATEST = 2;
export const MASK = 3;

export class SuffixAutomaton {
  /** log2 of the transition row width; rows are 2^shift wide. */
  readonly shift: number;
  readonly alphabet: number;
  /** Most symbols this arena can index. */
  readonly maxSymbols: number;
  /** Whether node[..MASK] is kept (alphabet ≤ 32). */
  readonly hasMasks: boolean;
  readonly node: Int32Array;
  readonly trans: Int32Array;
  readonly lastSym: Int32Array;
  readonly prefixState: Int32Array;
  /** Number of states in use (the root included). */
  size = 1;
  /** State of the whole text indexed so far. */
  last = 0;
  /** Symbols indexed so far. */
  count = 0;
  /**
   * Suffix-link steps spent by `commitEnd` and by the scans' fallback walks. The scans compare it
   * with a budget to detect inputs on which plain walking turns quadratic (spec §1.1).
   */
  work = 0;

  constructor(maxSymbols: number, alphabet: number) {
    if (!Number.isInteger(alphabet) || alphabet < 1)
      throw new RangeError(`alphabet must be ≥ 1 (got ${alphabet})`);
    let shift = 0;
    while (1 << shift < alphabet) shift++;
    this.shift = shift;
    this.alphabet = alphabet;
    this.maxSymbols = maxSymbols;
    this.hasMasks = alphabet <= 32;
    const states = stateCapacity(maxSymbols);
    const cells = states * 2 ** shift;
    if (cells > 2 ** 28) {
      throw new RangeError(
        `dense transition table of ${states} states × ${2 ** shift} symbols is too large; ` +
          'compact the alphabet or shorten the sequence',
      );
    }
    this.trans = new Int32Array(cells).fill(-1);
    this.node = new Int32Array(states * 4);
    this.lastSym = new Int32Array(states);
    this.prefixState = new Int32Array(Math.max(1, maxSymbols));
    this.reset();
  }

  /** Empty automaton (only the root). */
  reset(): void {
    if (!this.hasMasks) this.trans.fill(-1, 0, this.size << this.shift);
    this.size = 1;
    this.last = 0;
    this.count = 0;
    this.work = 0;
    const node = this.node;
    node[LINK] = -1;
    node[LEN] = 0;
    node[LATEST] = -1;
    node[MASK] = 0;
    this.lastSym[0] = -1;
  }

  /** Appends symbol c; returns the new prefix state. Does not touch e (see `commitEnd`). */
  extend(c: number): number {
    // Written as small methods so that V8 inlines them into the scan loops: one method this
    // size is over its inlining limit, and the call boundary costs spills (≈5% more stores).
    const node = this.node;
    const cur = this.size++;
    const cb = cur << 2;
    node[cb | LEN] = node[(this.last << 2) | LEN] + 1;
    node[cb | LATEST] = -1;
    node[cb | MASK] = 0;
    this.lastSym[cur] = c;
    const p = this.hasMasks ? this.addEdgesMasked(cur, c) : this.addEdgesDense(cur, c);
    node[cb | LINK] = p === -1 ? 0 : this.linkBelow(p, c);
    this.last = cur;
    this.prefixState[this.count++] = cur;
    return cur;
  }

  /**
   * Points the c-transitions of `last` and of its suffix-link ancestors that have none at cur;
   * returns the first ancestor that already has one, or -1.
   */
  private addEdgesMasked(cur: number, c: number): number {
    const trans = this.trans;
    const node = this.node;
    const sh = this.shift;
    const bit = 1 << c;
    let p = this.last;
    while (p !== -1 && (node[(p << 2) | MASK] & bit) === 0) {
      trans[(p << sh) | c] = cur;
      node[(p << 2) | MASK] |= bit;
      p = node[(p << 2) | LINK];
    }
    return p;
  }

  /** addEdgesMasked without masks: -1 cells mark missing transitions. */
  private addEdgesDense(cur: number, c: number): number {
    const trans = this.trans;
    const node = this.node;
    const sh = this.shift;
    let p = this.last;
    while (p !== -1 && trans[(p << sh) | c] === -1) {
      trans[(p << sh) | c] = cur;
      p = node[(p << 2) | LINK];
    }
    return p;
  }

  /** Suffix link of the new state when p has a c-transition to q: q itself, or a clone of q. */
  private linkBelow(p: number, c: number): number {
    const q = this.trans[(p << this.shift) | c];
    const node = this.node;
    return node[(p << 2) | LEN] + 1 === node[(q << 2) | LEN] ? q : this.split(p, q, c);
  }

  /** Clones q with length len(p) + 1, redirects p's chain from q to the clone; returns the clone. */
  private split(p: number, q: number, c: number): number {
    const trans = this.trans;
    const node = this.node;
    const sh = this.shift;
    const clone = this.size++;
    const kb = clone << 2;
    const qb = q << 2;
    node[kb | LINK] = node[qb | LINK];
    node[kb | LEN] = node[(p << 2) | LEN] + 1;
    // The clone's strings end wherever q's did; the new end is committed by commitEnd.
    node[kb | LATEST] = node[qb | LATEST];
    const from = q << sh;
    const to = clone << sh;
    if (this.hasMasks) {
      // Only cells under the mask are ever read: copy those.
      const m = node[qb | MASK];
      node[kb | MASK] = m;
      for (let rest = m; rest !== 0; rest &= rest - 1) {
        const a = 31 - Math.clz32(rest & -rest);
        trans[to | a] = trans[from | a];
      }
    } else {
      for (let a = (1 << sh) - 1; a >= 0; a--) trans[to + a] = trans[from + a];
    }
    this.lastSym[clone] = c;
    while (p !== -1 && trans[(p << sh) | c] === q) {
      trans[(p << sh) | c] = clone;
      p = node[(p << 2) | LINK];
    }
    node[qb | LINK] = clone;
    return clone;
  }

  /**
   * The reference e-update: every state on the suffix-link chain of the newest prefix state
   * now ends (latest) at `pos`. Linear in the chain length, which is what makes periodic text
   * quadratic; the scans switch to `AncestryIndex` when this gets expensive.
   */
  commitEnd(pos: number): void {
    const node = this.node;
    let steps = 0;
    for (let v = this.last; v > 0; v = node[(v << 2) | LINK]) {
      node[(v << 2) | LATEST] = pos;
      steps++;
    }
    this.work += steps;
  }

  link(v: number): number {
    return this.node[(v << 2) | LINK];
  }

  len(v: number): number {
    return this.node[(v << 2) | LEN];
  }

  /** e(v) as kept by commitEnd. */
  latest(v: number): number {
    return this.node[(v << 2) | LATEST];
  }

  /** Bytes held by this arena's typed arrays. */
  get bytes(): number {
    return (
      this.trans.byteLength + this.node.byteLength + this.lastSym.byteLength + this.prefixState.byteLength
    );
  }

  /** Bytes of the part of the arena the current text uses (transition rows + per-state fields). */
  get usedBytes(): number {
    return this.size * ((4 << this.shift) + 16 + 4) + this.count * 4;
  }
}

/** A suffix automaton over n symbols has at most 2n - 1 states (n ≥ 2); one spare for n < 2. */
export function stateCapacity(maxSymbols: number): number {
  return Math.max(2, 2 * maxSymbols);
}
