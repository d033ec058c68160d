// ROSA-Tuning's retrofit, shrunk to run in the test suite on the CPU backend (presets/
// rosa-tuning-niah-small.json): a model pretrained with global attention recalls the key 8
// windows back; the same weights under a window fall to near chance (10 digits); a window +
// ROSA adapter tuned from them (two-stage, with the settings that learn here: rwkv8 semantics,
// one shared q/k projection, 8 bits, e init 0.1; not the paper's, see the README) recovers it.
// The full protocol, paper settings and LRSA included: `npm run experiment -- --preset
// rosa-tuning-niah`.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inlineScanner } from '../../src/gpu/model/scanners.ts';
import { createRun } from '../../src/gpu/train/factory.ts';
import { parsePreset, presetRuns } from '../../src/gpu/train/preset.ts';
import type { NiahTask } from '../../src/tasks/niah.ts';

const preset = parsePreset(
  JSON.parse(readFileSync(new URL('../../presets/rosa-tuning-niah-small.json', import.meta.url), 'utf8')),
);
const ROWS = ['global', 'global→window', 'global→window+rosa, settings that learn'];

describe('ROSA-Tuning from a pretrained global model (reduced rosa-tuning-niah, CPU backend)', () => {
  it('the window loses the key, a tuned ROSA adapter brings it back', async () => {
    const started = performance.now();
    const accuracy: Record<string, number> = {};
    const weights = new Map<string, Map<string, Float32Array>>();
    const distance = preset.evaluation!.niahDistances![0];
    const env = { gpu: null, scanner: inlineScanner(), loadCorpus: async () => '', store: null };
    for (const { spec, from, evalOnly } of presetRuns(preset, 'cpu').filter((r) =>
      ROWS.includes(r.spec.name),
    )) {
      const source = from && 'variant' in from ? weights.get(from.variant) : undefined;
      if (from) expect(source, `${spec.name} starts from a trained run`).toBeDefined();
      const run = await createRun(spec, env, () => {}, source ? { transplant: source } : undefined);
      if (!evalOnly) {
        await run.run();
        expect(run.status).toBe('finished');
      }
      weights.set(spec.name, await run.model.exportParameters());
      expect(distance).toBe(8 * spec.model.window);
      const task = run.task as NiahTask;
      accuracy[spec.name] = await run.niahAccuracy(
        task.atDistance(distance, preset.evaluation!.niahSamples!),
      );
      run.model.dispose();
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`NIAH exact match at distance ${distance}:`, accuracy, `(${seconds.toFixed(0)} s)`);
    expect(accuracy.global).toBeGreaterThanOrEqual(0.9);
    expect(accuracy['global→window']).toBeLessThanOrEqual(0.2);
    expect(accuracy['global→window+rosa, settings that learn']).toBeGreaterThanOrEqual(0.9);
  }, 900_000);
});
