// Queries asked of a running run (retrieval maps, NIAH questions, the NIAH grid) run the
// model too; they must wait for the step in progress, never run inside it.

import { describe, expect, it } from 'vitest';
import { MemoryCheckpointStore } from '../../../src/gpu/checkpoint/store.ts';
import type { RosaScanner } from '../../../src/gpu/model/backend.ts';
import { inlineScanner, poolScanner } from '../../../src/gpu/model/scanners.ts';
import type { RunSpec, TrainerEvent } from '../../../src/gpu/train/protocol.ts';
import { createNodeRosaPool } from '../../../src/rosa-worker/platform/node.ts';
import { cpuEngine, tinyNiahSpec } from '../../harness/engine.ts';

function engine(scanner: RosaScanner = inlineScanner()) {
  const e = cpuEngine(new MemoryCheckpointStore(), scanner);
  const losses: number[] = [];
  const errors: string[] = [];
  e.subscribe((ev: TrainerEvent) => {
    if (ev.type === 'step' && ev.runId === 'q') losses.push(ev.metrics.loss);
    if (ev.type === 'error') errors.push(ev.message);
  });
  return { e, losses, errors };
}

const spec: RunSpec = tinyNiahSpec('q', { steps: 8, checkpointEvery: 0 });

describe('queries during training', () => {
  it('leave the loss curve bit-identical', async () => {
    const quiet = engine();
    await quiet.e.start(spec);
    await quiet.e.idle();
    expect(quiet.losses.length).toBe(8);

    const busy = engine();
    await busy.e.start(spec);
    const answers: Promise<unknown>[] = [];
    // Fire queries while steps are in flight, at many points of the step.
    for (let tick = 0; tick < 40 && busy.losses.length < 6; tick++) {
      const settle = (p: Promise<unknown>) => p.catch((err: Error) => err.message);
      answers.push(settle(busy.e.retrievalMap('q', 0, 0)));
      answers.push(
        settle(busy.e.niahQuery({ runId: 'q', haystack: 'the grass is green', key: '3', depth: 0.4 })),
      );
      answers.push(settle(busy.e.niahGrid('q', [12], [0.5], 1)));
      await new Promise((r) => setTimeout(r, 0));
    }
    await busy.e.idle();
    await Promise.all(answers);
    expect(busy.errors).toEqual([]);
    expect(answers.length).toBeGreaterThan(3);
    // Every query was answered (none crashed on a model in the middle of a step).
    for (const a of await Promise.all(answers)) expect(typeof a).toBe('object');
    expect(busy.losses).toEqual(quiet.losses);
  });

  it('queries to another run wait too: runs share the scanner (worker pool)', async () => {
    const pool = createNodeRosaPool({ size: 2 });
    try {
      // The pool scanner, slowed down a little so that overlapping scans would show.
      const base = poolScanner(pool);
      let active = 0;
      let mostAtOnce = 0;
      const scanner: RosaScanner = {
        workers: base.workers,
        sharedMemory: base.sharedMemory,
        allocateOutputs: base.allocateOutputs,
        async scan(mode, shape, qSym, kSym, out) {
          mostAtOnce = Math.max(mostAtOnce, ++active);
          try {
            await new Promise((r) => setTimeout(r, 1));
            await base.scan(mode, shape, qSym, kSym, out);
          } finally {
            active--;
          }
        },
      };
      const quiet = engine(scanner);
      await quiet.e.start(spec);
      await quiet.e.idle();

      const busy = engine(scanner);
      await busy.e.start({ ...spec, id: 'other', name: 'other', train: { ...spec.train, steps: 2 } });
      await busy.e.idle();
      await busy.e.start(spec);
      const answers: Promise<unknown>[] = [];
      for (let tick = 0; tick < 40 && busy.losses.length < 6; tick++) {
        answers.push(busy.e.retrievalMap('other', tick % 3, 0));
        answers.push(busy.e.niahQuery({ runId: 'other', haystack: 'a haystack', key: '5', depth: 0.5 }));
        await new Promise((r) => setTimeout(r, 0));
      }
      await busy.e.idle();
      await Promise.all(answers);
      expect(busy.errors).toEqual([]);
      expect(busy.losses).toEqual(quiet.losses);
      // One scan at a time: the scanner's shared input buffers are never overwritten mid-scan.
      expect(mostAtOnce).toBe(1);
    } finally {
      await pool.terminate();
    }
  });
});
