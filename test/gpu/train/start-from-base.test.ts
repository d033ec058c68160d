// A run started in the page from an imported Hugging Face model takes the model's shape: the
// setup form's layers and width are the playground defaults, rarely the base's, and the run
// keeps its own attention settings (variant, window, ROSA).

import { describe, expect, it } from 'vitest';
import { MemoryCheckpointStore } from '../../../src/gpu/checkpoint/store.ts';
import { hfBaseSettings } from '../../../src/interop/hf-base.ts';
import { hfCheckpoint } from '../../../src/interop/hf-checkpoint.ts';
import { exportHuggingFace } from '../../../src/interop/hf-export.ts';
import { cpuEngine, tinyNiahSpec } from '../../harness/engine.ts';
import { fixtureConfig, seededParameters } from '../../interop/seeded-model.ts';

describe('a run started from an imported model', () => {
  it("takes the base's shape (head size included) and keeps its own attention settings", async () => {
    const base = fixtureConfig({
      vocabSize: 128,
      layers: 2,
      width: 16,
      heads: 4,
      kvHeads: 2,
      headDim: 6,
      qkNorm: true,
      variant: 'global',
    });
    const files = exportHuggingFace({ config: base, parameters: seededParameters(base, 3) });
    const engine = cpuEngine(new MemoryCheckpointStore());
    const stored = await engine.importCheckpoint(hfCheckpoint(files, 'tiny-qwen3').files);
    const spec = tinyNiahSpec('from-base', { steps: 2 }); // 1 layer of width 16, 2 heads of 8
    await engine.start({ ...spec, model: { ...spec.model, window: 4 }, from: stored.key });
    await engine.idle();
    const run = (engine as unknown as { runs: Map<string, { spec: typeof spec; status: string }> }).runs.get(
      'from-base',
    );
    expect(run?.status).toBe('finished');
    expect(run?.spec.model).toMatchObject({
      layers: 2,
      heads: 4,
      kvHeads: 2,
      headDim: 6,
      qkNorm: true,
      variant: 'window+rosa',
      window: 4,
    });
  });

  it('carries headDim only where the base sets it', () => {
    expect(hfBaseSettings(fixtureConfig({ headDim: 6, heads: 4 }))).toMatchObject({ headDim: 6 });
    expect('headDim' in hfBaseSettings(fixtureConfig({}))).toBe(false);
  });
});
