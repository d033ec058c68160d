import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rosa, rosaQkv, rosaTuningScan, type ScanOptions } from '../../src/rosa-worker/scan.ts';
import { streamPair, symbolStream } from './arbitraries.ts';
import { loadPublicVectors } from './public-vectors.ts';
import { bruteExact, bruteQkv, bruteRosa, bruteRwkv8Rcf } from './reference/brute-force.ts';
import { plainTuningScan } from './reference/plain-tuning.ts';

// 'indexed' twice: with the usual short pre-walk, and asking the index for every fallback.
const strategies: (ScanOptions & { label: string })[] = [
  { label: 'walk', strategy: 'walk' },
  { label: 'indexed', strategy: 'indexed' },
  { label: 'indexed, no pre-walk', strategy: 'indexed', fallbackWalk: 0 },
  { label: 'auto', strategy: 'auto' },
  // The default engine runs the 'rosa-tuning' walk in WebAssembly; the JS walk is checked too.
  { label: 'walk, JS engine', strategy: 'walk', engine: 'js' },
  { label: 'auto, JS engine', strategy: 'auto', engine: 'js' },
];
const alphabet = fc.integer({ min: 2, max: 16 });
const bitsArb = fc.integer({ min: 1, max: 4 });

describe('the references themselves reproduce the public vectors', () => {
  const vectors = loadPublicVectors();
  it('brute-force rosa / QKV / exact and the plain §1.5 scan', () => {
    for (const { x, y } of vectors.rosa) expect(bruteRosa(x)).toEqual(y);
    for (const c of vectors.rosaQkv) {
      const { dest, matchLen } = bruteQkv(c.q, c.k);
      expect(dest.map((d) => (d < 0 ? -1 : c.v[d]))).toEqual(c.y);
      expect(matchLen).toEqual(c.matchLen);
    }
    for (const c of vectors.rosaTuningScan) {
      expect(bruteExact(c.q, c.k, c.bits).dest).toEqual(c.exactDest);
      const plain = plainTuningScan(c.q, c.k, c.bits);
      expect(plain.dest).toEqual(c.dest);
      expect(plain.qRunId).toEqual(c.qRunId);
      expect(plain.rcf).toEqual(c.rcf.flat(2));
      expect(plain.kRunStart).toEqual(c.kRunStart);
    }
  });
});

describe('scan engine against brute force (random, run-heavy, periodic; T ≤ 300)', () => {
  it('rosa(x) equals the definition of spec §1.2', () => {
    fc.assert(
      fc.property(
        alphabet.chain((a) => symbolStream(a, 300)),
        (x) => {
          const want = bruteRosa(x);
          for (const options of strategies) expect(Array.from(rosa(x, options)), options.label).toEqual(want);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('rosaQkv equals the definition of spec §1.3 (y and matchLen)', () => {
    fc.assert(
      fc.property(
        alphabet.chain((a) => streamPair(a, 300)),
        fc.integer(),
        ({ q, k }, salt) => {
          const v = q.map((_, t) => ((t * 7919 + salt) % 1000) - 500);
          const { dest, matchLen } = bruteQkv(q, k);
          const y = dest.map((d) => (d < 0 ? -1 : v[d]));
          for (const options of strategies) {
            const got = rosaQkv(q, k, v, options);
            expect(Array.from(got.matchLen), options.label).toEqual(matchLen);
            expect(Array.from(got.y), options.label).toEqual(y);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('rosa(x) over more than 32 symbols (dense transitions, no masks) equals spec §1.2', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 33, max: 48 }).chain((a) => symbolStream(a, 300)),
        (x) => {
          // Every symbol of the alphabet occurs at least once, so the automaton's alphabet is > 32.
          const text = [...Array.from({ length: 48 }, (_, i) => i), ...x];
          const want = bruteRosa(text);
          for (const options of strategies) {
            expect(Array.from(rosa(text, options)), options.label).toEqual(want);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("'exact' equals the idealised longest-suffix rule on runs (dest and counterfactuals)", () => {
    fc.assert(
      fc.property(
        bitsArb.chain((bits) => streamPair(1 << bits, 300).map((p) => ({ ...p, bits }))),
        ({ q, k, bits }) => {
          const want = bruteExact(q, k, bits);
          for (const options of strategies) {
            const got = rosaTuningScan(q, k, bits, 'exact', options);
            expect(Array.from(got.dest), options.label).toEqual(want.dest);
            expect(Array.from(got.rcf), options.label).toEqual(want.rcf);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("'rosa-tuning' equals a plain implementation of spec §1.5 (every output)", () => {
    fc.assert(
      fc.property(
        bitsArb.chain((bits) => streamPair(1 << bits, 300).map((p) => ({ ...p, bits }))),
        ({ q, k, bits }) => {
          const want = plainTuningScan(q, k, bits);
          for (const options of strategies) {
            const got = rosaTuningScan(q, k, bits, 'rosa-tuning', options);
            expect(Array.from(got.dest), options.label).toEqual(want.dest);
            expect(Array.from(got.qRunId), options.label).toEqual(want.qRunId);
            expect(Array.from(got.rcf), options.label).toEqual(want.rcf);
            expect(Array.from(got.kRunStart), options.label).toEqual(want.kRunStart);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("'rwkv8' gives BlinkDL's dest per token and its counterfactuals", () => {
    fc.assert(
      fc.property(
        bitsArb.chain((bits) => streamPair(1 << bits, 200).map((p) => ({ ...p, bits }))),
        ({ q, k, bits }) => {
          const want = bruteQkv(q, k).dest;
          const wantRcf = bruteRwkv8Rcf(q, k, bits);
          const ids = q.map((_, t) => t);
          for (const options of strategies) {
            const got = rosaTuningScan(q, k, bits, 'rwkv8', options);
            expect(Array.from(got.dest), options.label).toEqual(want);
            expect(Array.from(got.rcf), options.label).toEqual(wantRcf);
            expect(Array.from(got.qRunId)).toEqual(ids);
            expect(Array.from(got.kRunStart)).toEqual(ids);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
