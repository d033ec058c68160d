// A ROSA worker failure costs one retry of the step, not the run.

import { describe, expect, it } from 'vitest';
import type { RosaScanner } from '../../../src/gpu/model/backend.ts';
import { inlineScanner, poolScanner } from '../../../src/gpu/model/scanners.ts';
import { createRun } from '../../../src/gpu/train/factory.ts';
import type { RunSpec, TrainerEvent } from '../../../src/gpu/train/protocol.ts';
import { createNodeRosaPool } from '../../../src/rosa-worker/platform/node.ts';
import { RosaWorkerError } from '../../../src/rosa-worker/pool.ts';
import { tinyNiahSpec } from '../../harness/engine.ts';

const spec: RunSpec = tinyNiahSpec('r', { steps: 6 });

/** The inline scanner, except that the scans numbered in `failing` (from 1) fail as a dead worker would. */
function flakyScanner(failing: number[]): RosaScanner {
  const inner = inlineScanner();
  let calls = 0;
  return {
    ...inner,
    async scan(mode, shape, qSym, kSym, out) {
      calls++;
      if (failing.includes(calls)) {
        throw new RosaWorkerError('ROSA worker 0 died (lanes 0..1)', 0, 2, shape, mode, 0);
      }
      return inner.scan(mode, shape, qSym, kSym, out);
    },
  };
}

async function train(scanner: RosaScanner, runSpec: RunSpec = spec) {
  const events: TrainerEvent[] = [];
  const run = await createRun(runSpec, { gpu: null, scanner, loadCorpus: async () => '', store: null }, (e) =>
    events.push(e),
  );
  while (await run.advance()) {}
  const losses = events.flatMap((e) => (e.type === 'step' ? [e.metrics.loss] : []));
  return { run, events, losses };
}

describe('ROSA worker failure', () => {
  it('retries the step once and trains on as if nothing happened', async () => {
    const clean = await train(inlineScanner());
    const flaky = await train(flakyScanner([3]));
    expect(flaky.run.status).toBe('finished');
    expect(flaky.losses).toEqual(clean.losses);
    expect(
      flaky.events.some(
        (e) => e.type === 'status' && /ROSA worker failed at step 3.*retrying/.test(e.message ?? ''),
      ),
    ).toBe(true);
  });

  it('retries an evaluation once too, with the same figures', async () => {
    // Steps 1–3 scan once each (one ROSA layer); the evaluation after step 3 scans next.
    const evaluated = tinyNiahSpec('r', { steps: 6, evalEvery: 3 });
    const clean = await train(inlineScanner(), evaluated);
    const flaky = await train(flakyScanner([4]), evaluated);
    expect(flaky.run.status).toBe('finished');
    expect(flaky.run.evals).toEqual(clean.run.evals);
    expect(flaky.losses).toEqual(clean.losses);
    expect(
      flaky.events.some(
        (e) =>
          e.type === 'status' &&
          /ROSA worker failed in the evaluation at step 3.*retrying/.test(e.message ?? ''),
      ),
    ).toBe(true);
  });

  it('fails the run when the retry fails too', async () => {
    const { run, events } = await train(flakyScanner([3, 4]));
    expect(run.status).toBe('failed');
    expect(run.step).toBe(2);
    const err = events.find((e) => e.type === 'error');
    expect(err?.type === 'error' && err.message).toMatch(/ROSA worker 0 died/);
  });

  it('survives a real worker exiting mid-scan (worker_threads pool)', async () => {
    const pool = createNodeRosaPool({ size: 2 });
    try {
      const base = poolScanner(pool);
      let calls = 0;
      const dying: RosaScanner = {
        workers: base.workers,
        sharedMemory: base.sharedMemory,
        allocateOutputs: base.allocateOutputs,
        async scan(mode, shape, qSym, kSym, out) {
          calls++;
          if (calls !== 3) return base.scan(mode, shape, qSym, kSym, out);
          // The worker holding lane 0 exits (code 70) in the middle of this step's scan.
          await pool.scan({ mode, shape, qSym: qSym.slice(), kSym: kSym.slice() }, out, {
            injectFault: { lane: 0, kind: 'exit' },
          });
        },
      };
      const clean = await train(inlineScanner());
      const survived = await train(dying);
      expect(calls).toBeGreaterThan(3);
      expect(survived.run.status).toBe('finished');
      expect(survived.losses).toEqual(clean.losses);
      expect(pool.alive).toBe(2);
    } finally {
      await pool.terminate();
    }
  });
});
