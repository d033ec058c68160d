import { describe, expect, it } from 'vitest';
import { allocateScanOutputs, buildInverseIndices } from '../../src/rosa-worker/layout.ts';
import { randomInt, rng } from '../harness/random.ts';

describe('inverse index lists', () => {
  it('list exactly the positions whose dest / counterfactual lands on each key, ascending', () => {
    const r = rng(5);
    const shape = { lanes: 3, T: 23, bits: 2 };
    const out = allocateScanOutputs(shape);
    const { T, bits } = shape;
    for (let lane = 0; lane < shape.lanes; lane++) {
      let run = -1;
      for (let t = 0; t < T; t++) {
        out.dest[lane * T + t] = r() < 0.3 ? -1 : randomInt(r, t + 1);
        if (t === 0 || r() < 0.5) run++;
        out.qRunId[lane * T + t] = run;
      }
      for (let u = 0; u < T; u++) {
        for (let jb = 0; jb < bits * 2; jb++) {
          out.rcf[(lane * T + u) * bits * 2 + jb] = u <= run && r() < 0.7 ? randomInt(r, T) : -1;
        }
      }
    }
    buildInverseIndices(out, shape);
    for (let lane = 0; lane < shape.lanes; lane++) {
      for (let tau = 0; tau < T; tau++) {
        const a = out.destInvOffsets[lane * (T + 1) + tau];
        const b = out.destInvOffsets[lane * (T + 1) + tau + 1];
        const listed = Array.from(out.destInvPositions.subarray(lane * T + a, lane * T + b));
        const want: number[] = [];
        for (let t = 0; t < T; t++) if (out.dest[lane * T + t] === tau) want.push(t);
        expect(listed).toEqual(want);
      }
      const keys = T * bits * 2;
      for (let l = 0; l < T; l++) {
        for (let jb = 0; jb < bits * 2; jb++) {
          const key = l * bits * 2 + jb;
          const a = out.cfInvOffsets[lane * (keys + 1) + key];
          const b = out.cfInvOffsets[lane * (keys + 1) + key + 1];
          const listed = Array.from(out.cfInvPositions.subarray(lane * keys + a, lane * keys + b));
          const want: number[] = [];
          for (let t = 0; t < T; t++) {
            const u = out.qRunId[lane * T + t];
            if (out.rcf[(lane * T + u) * bits * 2 + jb] === l) want.push(t);
          }
          expect(listed).toEqual(want);
        }
      }
    }
  });
});
