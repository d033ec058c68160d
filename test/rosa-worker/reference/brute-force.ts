// Brute-force definitions, straight from docs/rosa-spec.md, written for obviousness (O(T²)–O(T³)).

/** Length of the longest common suffix of a[0..i] and b[0..j]. */
function commonSuffix(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number): number {
  let n = 0;
  while (i - n >= 0 && j - n >= 0 && a[i - n] === b[j - n]) n++;
  return n;
}

/** §1.2: y_i = x_{j+1} for the longest m with x[j-m..j] = x[i-m..i], j < i, ties → largest j. */
export function bruteRosa(x: ArrayLike<number>): number[] {
  const y: number[] = [];
  for (let i = 0; i < x.length; i++) {
    let best = 0;
    let bestJ = -1;
    for (let j = 0; j < i; j++) {
      const m = commonSuffix(x, i, x, j);
      if (m > 0 && m >= best) {
        best = m;
        bestJ = j;
      }
    }
    y.push(bestJ < 0 ? -1 : x[bestJ + 1]);
  }
  return y;
}

/**
 * §1.3 at one step: longest w with q[i-w+1..i] = k[e-w+1..e], e ≤ i - 1, ties → largest e.
 * Returns [w, e] (w = 0, e = -1 when nothing matches).
 */
function qkvMatch(q: ArrayLike<number>, k: ArrayLike<number>, i: number): [number, number] {
  let best = 0;
  let bestEnd = -1;
  for (let e = 0; e < i; e++) {
    const w = commonSuffix(q, i, k, e);
    if (w > 0 && w >= best) {
      best = w;
      bestEnd = e;
    }
  }
  return [best, bestEnd];
}

/** §1.3: dest_i = j + w (time whose v is read) or -1, and the match length. */
export function bruteQkv(q: ArrayLike<number>, k: ArrayLike<number>): { dest: number[]; matchLen: number[] } {
  const dest: number[] = [];
  const matchLen: number[] = [];
  for (let i = 0; i < q.length; i++) {
    const [w, e] = qkvMatch(q, k, i);
    dest.push(w > 0 ? e + 1 : -1);
    matchLen.push(w);
  }
  return { dest, matchLen };
}

/** 'rwkv8' counterfactuals: rcf[t][j][β] = dest at t with bit j of q_t forced to β. */
export function bruteRwkv8Rcf(q: ArrayLike<number>, k: ArrayLike<number>, bits: number): number[] {
  const rcf: number[] = [];
  const forcedQ = Array.from(q);
  for (let t = 0; t < q.length; t++) {
    for (let j = 0; j < bits; j++) {
      for (let beta = 0; beta < 2; beta++) {
        forcedQ[t] = beta ? q[t] | (1 << j) : q[t] & ~(1 << j);
        const [w, e] = qkvMatch(forcedQ, k, t);
        rcf.push(w > 0 ? e + 1 : -1);
      }
    }
    forcedQ[t] = q[t];
  }
  return rcf;
}

export interface Runs {
  symbols: number[];
  starts: number[];
  /** run index of every t */
  runOf: number[];
}

export function runsOf(x: ArrayLike<number>): Runs {
  const symbols: number[] = [];
  const starts: number[] = [];
  const runOf: number[] = [];
  for (let t = 0; t < x.length; t++) {
    if (t === 0 || x[t] !== x[t - 1]) {
      symbols.push(x[t]);
      starts.push(t);
    }
    runOf.push(symbols.length - 1);
  }
  return { symbols, starts, runOf };
}

/**
 * The idealised rule on runs: longest suffix of the Q-run symbols so far occurring in the K-runs
 * so far (current run included), latest occurrence ending at run e; the K-run index e + 1 if it
 * exists yet, else -1.
 */
function exactRun(qRunSyms: number[], kRuns: number[], lastRun: number): number {
  let best = 0;
  let bestEnd = -1;
  for (let e = 0; e <= lastRun; e++) {
    const w = commonSuffix(qRunSyms, qRunSyms.length - 1, kRuns, e);
    if (w > 0 && w >= best) {
      best = w;
      bestEnd = e;
    }
  }
  return best > 0 && bestEnd + 1 <= lastRun ? bestEnd + 1 : -1;
}

/** 'exact': dest per t and rcf per Q-run (the rule with the run's symbol's bit j forced). */
export function bruteExact(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  bits: number,
): { dest: number[]; rcf: number[] } {
  const qr = runsOf(q);
  const kr = runsOf(k);
  const dest: number[] = [];
  const rcf: number[] = [];
  for (let t = 0; t < q.length; t++) {
    const u = qr.runOf[t];
    const lastRun = kr.runOf[t];
    const qSyms = qr.symbols.slice(0, u + 1);
    const run = exactRun(qSyms, kr.symbols, lastRun);
    dest.push(run < 0 ? -1 : kr.starts[run]);
    if (qr.starts[u] === t) {
      for (let j = 0; j < bits; j++) {
        for (let beta = 0; beta < 2; beta++) {
          const forced = qSyms.slice();
          forced[u] = beta ? q[t] | (1 << j) : q[t] & ~(1 << j);
          rcf.push(exactRun(forced, kr.symbols, lastRun));
        }
      }
    }
  }
  return { dest, rcf };
}
