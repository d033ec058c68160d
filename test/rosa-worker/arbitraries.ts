// fast-check generators for symbol streams: uniform random, run-heavy (long repeats, the case
// run-length encoding cares about) and periodic (the case that makes suffix-link walks quadratic),
// and (q, k) pairs that are independent, shifted copies or noisy copies of each other.

import fc from 'fast-check';

export function symbolStream(alphabet: number, maxLength: number): fc.Arbitrary<number[]> {
  const sym = fc.integer({ min: 0, max: alphabet - 1 });
  // Lengths are drawn uniformly (fast-check's default size would keep arrays at a few elements).
  const length = fc.integer({ min: 0, max: maxLength });
  const tiny = fc.array(sym, { maxLength: 6 });
  const random = length.chain((n) => fc.array(sym, { minLength: n, maxLength: n }));
  const runHeavy = length.chain((n) =>
    fc
      .array(fc.tuple(sym, fc.integer({ min: 1, max: 16 })), { minLength: n, maxLength: n })
      .map((runs) => runs.flatMap(([s, r]) => Array<number>(r).fill(s)).slice(0, n)),
  );
  const periodic = fc
    .record({
      pattern: fc.array(sym, { minLength: 1, maxLength: 6 }),
      length,
      stretch: fc.integer({ min: 1, max: 3 }),
      noise: fc.array(fc.tuple(fc.nat(), sym), { maxLength: 3, size: 'max' }),
    })
    .map(({ pattern, length, stretch, noise }) => {
      const x = Array.from({ length }, (_, t) => pattern[Math.floor(t / stretch) % pattern.length]);
      for (const [at, s] of noise) if (length > 0) x[at % length] = s;
      return x;
    });
  return fc.oneof(tiny, random, runHeavy, periodic);
}

/** (q, k) of equal length. */
export function streamPair(alphabet: number, maxLength: number): fc.Arbitrary<{ q: number[]; k: number[] }> {
  const sym = fc.integer({ min: 0, max: alphabet - 1 });
  return symbolStream(alphabet, maxLength).chain((k) => {
    const n = k.length;
    const independent = fc.array(sym, { minLength: n, maxLength: n });
    const otherStream = symbolStream(alphabet, maxLength).map((x) =>
      Array.from({ length: n }, (_, t) => (x.length > 0 ? x[t % x.length] : 0)),
    );
    const shifted = fc
      .tuple(fc.integer({ min: 0, max: 8 }), sym)
      .map(([d, fill]) => k.map((_, t) => (t >= d ? k[t - d] : fill)));
    const noisy = fc.array(fc.tuple(fc.nat(), sym), { maxLength: 6, size: 'max' }).map((edits) => {
      const q = k.slice();
      for (const [at, s] of edits) if (n > 0) q[at % n] = s;
      return q;
    });
    return fc.oneof(independent, otherStream, shifted, noisy).map((q) => ({ q, k }));
  });
}
