import { describe, expect, it } from 'vitest';
import type { ScanStrategy } from '../../src/rosa-worker/arena.ts';
import { rosa, rosaQkv, rosaTuningScan } from '../../src/rosa-worker/scan.ts';
import { loadPublicVectors } from './public-vectors.ts';

const vectors = loadPublicVectors();
const strategies: ScanStrategy[] = ['auto', 'walk', 'indexed'];

describe.each(strategies)('public vectors (strategy %s)', (strategy) => {
  it('rosa: every case of set A', () => {
    expect(vectors.rosa.length).toBeGreaterThanOrEqual(9);
    for (const { x, y } of vectors.rosa) expect(Array.from(rosa(x, { strategy })), `x=${x}`).toEqual(y);
  });

  it('rosaQkv: y (raw, -1 kept) and matchLen of set B', () => {
    expect(vectors.rosaQkv.length).toBeGreaterThanOrEqual(6);
    for (const c of vectors.rosaQkv) {
      const got = rosaQkv(c.q, c.k, c.v, { strategy });
      expect(Array.from(got.y), `q=${c.q}`).toEqual(c.y);
      expect(Array.from(got.matchLen), `q=${c.q}`).toEqual(c.matchLen);
    }
  });

  it("rosaTuningScan 'rosa-tuning': dest, qRunId, rcf and kRunStart of set D", () => {
    expect(vectors.rosaTuningScan.length).toBeGreaterThanOrEqual(10);
    for (const c of vectors.rosaTuningScan) {
      const got = rosaTuningScan(c.q, c.k, c.bits, 'rosa-tuning', { strategy });
      const label = `q=${c.q} k=${c.k}`;
      expect(Array.from(got.dest), label).toEqual(c.dest);
      expect(Array.from(got.qRunId), label).toEqual(c.qRunId);
      expect(Array.from(got.rcf), label).toEqual(c.rcf.flat(2));
      expect(Array.from(got.kRunStart), label).toEqual(c.kRunStart);
    }
  });

  it("rosaTuningScan 'exact': exactDest of set D", () => {
    for (const c of vectors.rosaTuningScan) {
      const got = rosaTuningScan(c.q, c.k, c.bits, 'exact', { strategy });
      expect(Array.from(got.dest), `q=${c.q} k=${c.k}`).toEqual(c.exactDest);
      expect(Array.from(got.qRunId)).toEqual(c.qRunId);
      expect(Array.from(got.kRunStart)).toEqual(c.kRunStart);
      expect(got.rcf.length).toBe(c.rcf.length * c.bits * 2);
    }
  });
});

describe('rosaTuningScan input checks', () => {
  it('rejects symbols that do not fit the bits and mismatched lengths', () => {
    expect(() => rosaTuningScan([0, 4], [0, 1], 2)).toThrow(/q\[1\] = 4/);
    expect(() => rosaTuningScan([0, 1], [0], 2)).toThrow(/same length/);
    expect(() => rosaTuningScan([0], [0], 9)).toThrow(/1\.\.8/);
  });
});
