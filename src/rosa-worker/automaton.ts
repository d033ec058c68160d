// Online suffix automaton (Blumer et al. 1985) over a dense alphabet, in typed arrays that are
// allocated once and reused for every lane (no allocation while scanning).
//
// Per state v:
//   trans[v << shift | a]  target state on symbol a, or -1
//   len[v]                 length of the longest string of v
//   link[v]                suffix link (-1 for the root, state 0)
//   lastSym[v]             the symbol every string of v ends with (-1 for the root)
//   latest[v]              e(v): latest end position of v's strings in the indexed text, -1 if none
//                          (maintained by `commitEnd`, the reference chain walk of spec §1.1)
//   masks[v]               bit a set iff trans[v][a] exists (alphabets ≤ 32 only, else null):
//                          fallback walks test 4 dense bytes per state instead of a table row,
//                          and one walk serves several symbols
// prefixState[p] is the state created for the whole prefix text[0..p].

export class SuffixAutomaton {
  /** log2 of the transition row width; rows are 2^shift wide. */
  readonly shift: number;
  readonly alphabet: number;
  /** Most symbols this arena can index. */
  readonly maxSymbols: number;
  readonly trans: Int32Array;
  readonly len: Int32Array;
  readonly link: Int32Array;
  readonly lastSym: Int32Array;
  readonly latest: Int32Array;
  readonly prefixState: Int32Array;
  readonly masks: Int32Array | null;
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
    const states = stateCapacity(maxSymbols);
    const cells = states * 2 ** shift;
    if (cells > 2 ** 28) {
      throw new RangeError(
        `dense transition table of ${states} states × ${2 ** shift} symbols is too large; ` +
          'compact the alphabet or shorten the sequence',
      );
    }
    this.trans = new Int32Array(cells).fill(-1);
    this.len = new Int32Array(states);
    this.link = new Int32Array(states);
    this.lastSym = new Int32Array(states);
    this.latest = new Int32Array(states);
    this.prefixState = new Int32Array(Math.max(1, maxSymbols));
    this.masks = alphabet <= 32 ? new Int32Array(states) : null;
    this.reset();
  }

  /** Empty automaton (only the root); clears just the rows that were used. */
  reset(): void {
    this.trans.fill(-1, 0, this.size << this.shift);
    this.size = 1;
    this.last = 0;
    this.count = 0;
    this.work = 0;
    this.len[0] = 0;
    this.link[0] = -1;
    this.lastSym[0] = -1;
    this.latest[0] = -1;
    if (this.masks) this.masks[0] = 0;
  }

  /** Appends symbol c; returns the new prefix state. Does not touch e (see `commitEnd`). */
  extend(c: number): number {
    const trans = this.trans;
    const len = this.len;
    const link = this.link;
    const masks = this.masks;
    const sh = this.shift;
    const cur = this.size++;
    len[cur] = len[this.last] + 1;
    this.lastSym[cur] = c;
    this.latest[cur] = -1;
    let p = this.last;
    if (masks !== null) {
      masks[cur] = 0;
      const bit = 1 << c;
      while (p !== -1 && (masks[p] & bit) === 0) {
        trans[(p << sh) | c] = cur;
        masks[p] |= bit;
        p = link[p];
      }
    } else {
      while (p !== -1 && trans[(p << sh) | c] === -1) {
        trans[(p << sh) | c] = cur;
        p = link[p];
      }
    }
    if (p === -1) {
      link[cur] = 0;
    } else {
      const q = trans[(p << sh) | c];
      if (len[p] + 1 === len[q]) {
        link[cur] = q;
      } else {
        const clone = this.size++;
        len[clone] = len[p] + 1;
        const from = q << sh;
        const to = clone << sh;
        for (let a = (1 << sh) - 1; a >= 0; a--) trans[to + a] = trans[from + a];
        if (masks !== null) masks[clone] = masks[q];
        link[clone] = link[q];
        this.lastSym[clone] = c;
        // The clone's strings end wherever q's did; the new end is committed by commitEnd.
        this.latest[clone] = this.latest[q];
        while (p !== -1 && trans[(p << sh) | c] === q) {
          trans[(p << sh) | c] = clone;
          p = link[p];
        }
        link[q] = clone;
        link[cur] = clone;
      }
    }
    this.last = cur;
    this.prefixState[this.count++] = cur;
    return cur;
  }

  /**
   * The reference e-update: every state on the suffix-link chain of the newest prefix state
   * now ends (latest) at `pos`. Linear in the chain length, which is what makes periodic text
   * quadratic; the scans switch to `AncestryIndex` when this gets expensive.
   */
  commitEnd(pos: number): void {
    const link = this.link;
    const latest = this.latest;
    let steps = 0;
    for (let v = this.last; v > 0; v = link[v]) {
      latest[v] = pos;
      steps++;
    }
    this.work += steps;
  }

  /** Bytes held by this arena's typed arrays. */
  get bytes(): number {
    return (
      this.trans.byteLength +
      this.len.byteLength +
      this.link.byteLength +
      this.lastSym.byteLength +
      this.latest.byteLength +
      this.prefixState.byteLength +
      (this.masks ? this.masks.byteLength : 0)
    );
  }

  /** Bytes of the part of the arena the current text uses (transition rows + per-state fields). */
  get usedBytes(): number {
    return this.size * (4 << this.shift) + this.size * 4 * (this.masks ? 5 : 4) + this.count * 4;
  }
}

/** A suffix automaton over n symbols has at most 2n - 1 states (n ≥ 2); one spare for n < 2. */
export function stateCapacity(maxSymbols: number): number {
  return Math.max(2, 2 * maxSymbols);
}
