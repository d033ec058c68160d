// The research result, shrunk to run in the test suite on the CPU backend (presets/
// niah-compare-small.json): with the needle 8 windows before the query, windowed attention
// cannot recall the key, windowed attention + ROSA and global attention can. The full-size
// experiment is `npm run experiment -- --preset niah-compare`.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inlineScanner } from '../../src/gpu/model/scanners.ts';
import { createRun } from '../../src/gpu/train/factory.ts';
import { type ExperimentPreset, presetRunSpecs } from '../../src/gpu/train/preset.ts';
import type { NiahTask } from '../../src/tasks/niah.ts';

const preset = JSON.parse(
  readFileSync(new URL('../../presets/niah-compare-small.json', import.meta.url), 'utf8'),
) as ExperimentPreset;

describe('NIAH beyond the window (reduced niah-compare, CPU backend)', () => {
  it('window+ROSA and global recall the key 8 windows back; the window alone does not', async () => {
    const started = performance.now();
    const accuracy: Record<string, number> = {};
    const distance = preset.evaluation!.niahDistances![0];
    for (const spec of presetRunSpecs(preset, 'cpu')) {
      const run = await createRun(
        spec,
        { gpu: null, scanner: inlineScanner(), loadCorpus: async () => '', store: null },
        () => {},
      );
      await run.run();
      expect(run.status).toBe('finished');
      const task = run.task as NiahTask;
      expect(distance).toBe(8 * spec.model.window);
      accuracy[spec.name] = await run.niahAccuracy(
        task.atDistance(distance, preset.evaluation!.niahSamples!),
      );
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`NIAH exact match at distance ${distance}:`, accuracy, `(${seconds.toFixed(0)} s)`);
    expect(accuracy['window+rosa']).toBeGreaterThanOrEqual(0.9);
    expect(accuracy.global).toBeGreaterThanOrEqual(0.9);
    expect(accuracy.window).toBeLessThanOrEqual(0.2);
  }, 600_000);
});
