// A second, deliberately plain implementation of the ROSA-Tuning 12.29 training scan
// (docs/rosa-spec.md §1.5): a suffix automaton with Map transitions, the chain-walking e-update of
// §1.1 and match_next as described, no shortcuts. Used only to check the engine.

class PlainAutomaton {
  next: Map<number, number>[] = [new Map()];
  link: number[] = [-1];
  len: number[] = [0];
  e: number[] = [-1];
  last = 0;

  extend(x: number, pos: number): void {
    const cur = this.next.length;
    this.next.push(new Map());
    this.link.push(-1);
    this.len.push(this.len[this.last] + 1);
    this.e.push(-1);
    let p = this.last;
    while (p !== -1 && !this.next[p].has(x)) {
      this.next[p].set(x, cur);
      p = this.link[p];
    }
    if (p === -1) {
      this.link[cur] = 0;
    } else {
      const q = this.next[p].get(x)!;
      if (this.len[p] + 1 === this.len[q]) {
        this.link[cur] = q;
      } else {
        const clone = this.next.length;
        this.next.push(new Map(this.next[q]));
        this.link.push(this.link[q]);
        this.len.push(this.len[p] + 1);
        this.e.push(this.e[q]);
        while (p !== -1 && this.next[p].get(x) === q) {
          this.next[p].set(x, clone);
          p = this.link[p];
        }
        this.link[q] = clone;
        this.link[cur] = clone;
      }
    }
    this.last = cur;
    // e-update: every suffix of the text now ends (latest) at pos.
    for (let v = cur; v !== -1 && this.e[v] !== pos; v = this.link[v]) this.e[v] = pos;
  }

  /** Fall back along suffix links from s until an x-transition exists; its target or -1. */
  matchNext(s: number, x: number): number {
    let v = s;
    while (v !== -1 && !this.next[v].has(x)) v = this.link[v];
    return v === -1 ? -1 : this.next[v].get(x)!;
  }
}

export function plainTuningScan(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  bits: number,
): { dest: number[]; qRunId: number[]; rcf: number[]; kRunStart: number[] } {
  const T = q.length;
  // Step 1: run-length-encode K.
  const kRunStart: number[] = [];
  const kRunSym: number[] = [];
  const rcap: number[] = [];
  for (let t = 0; t < T; t++) {
    if (t === 0 || k[t] !== k[t - 1]) {
      kRunStart.push(t);
      kRunSym.push(k[t]);
    }
    rcap.push(kRunStart.length - 1);
  }
  // Step 2: run-length-encode Q.
  const qRunId: number[] = [];
  for (let t = 0; t < T; t++) qRunId.push(t === 0 ? 0 : qRunId[t - 1] + (q[t] !== q[t - 1] ? 1 : 0));
  // Step 3: the scan.
  const sam = new PlainAutomaton();
  const dest: number[] = [];
  const rcf: number[] = [];
  let inserted = 0;
  let s = 0;
  let advanced = false;
  for (let t = 0; t < T; t++) {
    while (inserted <= rcap[t]) {
      sam.extend(kRunSym[inserted], inserted);
      inserted++;
    }
    const a = q[t];
    if (t === 0 || q[t] !== q[t - 1]) {
      for (let j = 0; j < bits; j++) {
        for (let beta = 0; beta < 2; beta++) {
          const forced = beta ? a | (1 << j) : a & ~(1 << j);
          const ns = sam.matchNext(s, forced);
          rcf.push(ns !== -1 && sam.e[ns] + 1 <= rcap[t] ? sam.e[ns] + 1 : -1);
        }
      }
      advanced = false;
    }
    const ns = sam.matchNext(s, a);
    dest.push(ns !== -1 && sam.e[ns] + 1 <= rcap[t] ? kRunStart[sam.e[ns] + 1] : -1);
    if (ns !== -1 && !advanced) {
      s = ns;
      advanced = true;
    }
  }
  return { dest, qRunId, rcf, kRunStart };
}
