import { describe, expect, it } from 'vitest';
import { MemoryCheckpointStore } from '../../../src/gpu/checkpoint/store.ts';
import { defaultModelConfig, type ModelConfig } from '../../../src/gpu/model/config.ts';
import { CpuBackend } from '../../../src/gpu/model/cpu-backend.ts';
import { Model } from '../../../src/gpu/model/model.ts';
import { initialParameters } from '../../../src/gpu/model/params.ts';
import { inlineScanner } from '../../../src/gpu/model/scanners.ts';
import { checkCounterfactualGradient, type RouteCheck } from '../../../src/gpu/train/gradient-check.ts';
import { SymbolFlipBackend } from '../../../src/gpu/train/symbol-flip-backend.ts';
import { defaultTrainConfig } from '../../../src/gpu/train/train-config.ts';
import { NiahTask } from '../../../src/tasks/niah.ts';
import { PASSKEY_VOCAB_SIZE } from '../../../src/tasks/passkey-vocab.ts';
import { cpuEngine } from '../../harness/engine.ts';

// A tiny NIAH case: one ROSA layer of width 8 (two 4-bit routes), two sequences of 16 tokens.
const T = 16;
function tinyConfig(eInit: number, layers = 1): ModelConfig {
  return defaultModelConfig({
    vocabSize: PASSKEY_VOCAB_SIZE,
    seqLen: T,
    layers,
    width: 8,
    heads: 2,
    mlpHidden: 16,
    window: 4,
    variant: 'window+rosa',
    rosa: { bits: 4, semantics: 'rosa-tuning', qk: 'independent', eInit },
  });
}
const batch = new NiahTask({ seqLen: T, keyLength: 1, filler: 'random', seed: 3 }).batch('train', 0, 2);

function route(result: Awaited<ReturnType<typeof checkCounterfactualGradient>>, name: string): RouteCheck {
  const found = result.layers[0].routes.find((r) => r.route === name);
  if (!found) throw new Error(`no route ${name}`);
  return found;
}

describe('gradient check of the counterfactual surrogate', () => {
  // A value bit only decides which of e0/e1 is injected where it is retrieved: the surrogate's
  // V gradient is the exact first-order effect of that, so with a small injection it must agree
  // with the true loss change of flipping the bit, and its negation must disagree.
  it('agrees on the value route, where the true effect is the linear one, and flags a negated surrogate', async () => {
    const config = tinyConfig(0.001);
    const parameters = initialParameters(config, 2);
    const wide = new NiahTask({ seqLen: T, keyLength: 1, filler: 'random', seed: 3 }).batch('train', 0, 4);
    const right = await checkCounterfactualGradient({
      config,
      parameters,
      batch: wide,
      options: { routes: ['v'] },
    });
    const v = route(right, 'v');
    expect(v.flips).toBeGreaterThan(8);
    expect(v.bothNonzero).toBeGreaterThan(8);
    expect(v.cosine!).toBeGreaterThan(0.99);
    // Second-order effects can outweigh the first-order one on the smallest entries.
    expect(v.signAgreement!).toBeGreaterThan(0.8);
    expect(v.weightCosine!).toBeGreaterThan(0.99);

    const negated = await checkCounterfactualGradient({
      config,
      parameters,
      batch: wide,
      options: { routes: ['v'], surrogateScale: -1 },
    });
    const nv = route(negated, 'v');
    expect(nv.flips).toBe(v.flips);
    expect(nv.cosine!).toBeLessThan(-0.99);
    expect(nv.signAgreement!).toBeLessThan(0.2);
    expect(nv.signAgreement!).toBeCloseTo(1 - v.signAgreement!, 10);
    expect(negated.settings.surrogateScale).toBe(-1);
  });

  // The paper's initialisation injects exactly 0 (e0 = e1 = 0): no bit can move the loss, and
  // the surrogate (proportional to e1 − e0) is exactly 0 as well.
  it('finds nothing to compare at the paper initialisation e0 = e1 = 0', async () => {
    const config = tinyConfig(0);
    const parameters = initialParameters(config, 2);
    const result = await checkCounterfactualGradient({
      config,
      parameters,
      batch,
      options: { maxFlipsPerRoute: 40, seed: 5 },
    });
    expect(result.layers).toHaveLength(1);
    const layer = result.layers[0];
    expect(layer.meanAbsDelta).toBe(0);
    expect(layer.routes.map((r) => r.route)).toEqual(['q', 'k', 'v']);
    for (const r of layer.routes) {
      expect(r.trueNonzero).toBe(0);
      expect(r.surrogateNonzero).toBe(0);
      expect(r.cosine).toBeNull();
      expect(r.signAgreement).toBeNull();
    }
    expect(layer.routes[0].flips).toBe(40);
  });

  // The surrogate the check compares must be the gradient the model's own backward produces:
  // the flip backend's capture, chained through Wq/Wk/Wv, gives the model's weight gradients.
  it('compares the gradient the model backward computes, and flips one symbol bit at a time', async () => {
    const config = tinyConfig(0.1);
    const parameters = initialParameters(config, 4);
    const plain = new Model(new CpuBackend(), config, parameters);
    const scanner = inlineScanner();
    await plain.forward(batch.tokens, batch.targets, batch.B, batch.T, scanner, true);
    plain.backward();
    const flipper = new SymbolFlipBackend();
    const model = new Model(flipper, config, parameters);
    flipper.capturing = true;
    const base = await model.forward(batch.tokens, batch.targets, batch.B, batch.T, scanner, true);
    model.backward();
    const capture = flipper.captures.get(0)!;
    const C = config.width;
    const N = batch.B * batch.T;
    for (const [name, grad] of [
      ['layers.0.rosa.wq', capture.gradQ],
      ['layers.0.rosa.wk', capture.gradK],
      ['layers.0.rosa.wv', capture.gradV],
    ] as const) {
      const expected = plain.params.get(name)!.grad;
      for (let o = 0; o < C; o++) {
        for (let i = 0; i < C; i++) {
          let sum = 0;
          for (let n = 0; n < N; n++) sum += grad[n * C + o] * capture.u[n * C + i];
          expect(sum).toBeCloseTo(expected[o * C + i], 5);
        }
      }
    }
    // Flips act on the forward pass: one after the last labelled position (T − 2 here) cannot
    // move the loss, some at the answer position do, and with no flip the loss is the base one.
    flipper.capturing = false;
    const lossWith = async (index: number) => {
      flipper.flips = [{ ordinal: 0, route: 'q', index }];
      const r = await model.forward(batch.tokens, batch.targets, batch.B, batch.T, scanner);
      flipper.flips = [];
      return r.loss.meanLoss;
    };
    expect(await lossWith((T - 1) * C + 3)).toBe(base.loss.meanLoss);
    let moved = 0;
    for (let c = 0; c < C; c++) if ((await lossWith((T - 2) * C + c)) !== base.loss.meanLoss) moved++;
    expect(moved).toBeGreaterThan(0);
    const again = await model.forward(batch.tokens, batch.targets, batch.B, batch.T, scanner);
    expect(again.loss.meanLoss).toBe(base.loss.meanLoss);
  });

  it('is deterministic, covers every ROSA layer and gives the same figures one flip per pass', async () => {
    const config = tinyConfig(0.1, 2);
    const parameters = initialParameters(config, 6);
    const options = { maxFlipsPerRoute: 24, seed: 9 };
    const a = await checkCounterfactualGradient({ config, parameters, batch, options });
    // One flip per pass gives the same figures: the copies of a sequence do not interact.
    const b = await checkCounterfactualGradient({
      config,
      parameters,
      batch,
      options: { ...options, copiesPerPass: 1 },
    });
    expect(a.layers.map((l) => l.layer)).toEqual([0, 1]);
    expect(a.flips).toBe(2 * 3 * 24);
    // Flipped copies share forward passes: at most one pass per 32 flips, plus one per sequence.
    expect(a.forwardPasses).toBeLessThanOrEqual(1 + batch.B * (1 + Math.ceil((2 * 3 * 24) / 32)));
    expect(b.layers).toEqual(a.layers);
  });

  it('splits q and k by run position, and under rwkv8 every position starts a run', async () => {
    const tuning = tinyConfig(0.1);
    const rwkv8: ModelConfig = { ...tuning, rosa: { ...tuning.rosa, semantics: 'rwkv8' } };
    const options = { maxFlipsPerRoute: 48, seed: 2, routes: ['q', 'k'] as const };
    for (const config of [tuning, rwkv8]) {
      const result = await checkCounterfactualGradient({
        config,
        parameters: initialParameters(config, 7),
        batch,
        options,
      });
      for (const r of result.layers[0].routes) {
        expect(r.runStart!.flips + r.insideRun!.flips).toBe(r.flips);
        expect(r.runStart!.trueNonzero + r.insideRun!.trueNonzero).toBe(r.trueNonzero);
        if (config === rwkv8) expect(r.insideRun!.flips).toBe(0);
        else expect(r.insideRun!.flips).toBeGreaterThan(0);
      }
    }
  });

  it('runs through the engine on a run’s current weights, and refuses runs without ROSA', async () => {
    const engine = cpuEngine(new MemoryCheckpointStore());
    const spec = (id: string, variant: 'window' | 'window+rosa') => ({
      id,
      name: id,
      backend: 'cpu' as const,
      task: { kind: 'niah' as const, seqLen: T, keyLength: 1, filler: 'random' as const },
      model: { ...tinyConfig(0.1), variant },
      train: defaultTrainConfig({ steps: 2, batchSize: 2, evalEvery: 0, warmupSteps: 1 }),
    });
    await engine.start(spec('rosa', 'window+rosa'));
    await engine.start(spec('plain', 'window'));
    await engine.idle();
    const result = await engine.gradientCheck({ runId: 'rosa', sequences: 1, maxFlipsPerRoute: 8 });
    expect(result.settings.B).toBe(1);
    expect(result.flips).toBe(3 * 8);
    expect(result.layers.map((l) => l.layer)).toEqual([0]);
    await expect(engine.gradientCheck({ runId: 'plain', sequences: 1, maxFlipsPerRoute: 8 })).rejects.toThrow(
      /no ROSA layers/,
    );
    await expect(engine.gradientCheck({ runId: 'rosa', sequences: 0, maxFlipsPerRoute: 8 })).rejects.toThrow(
      /sequences must be/,
    );
  });
});
