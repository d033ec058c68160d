import { afterEach, describe, expect, it, vi } from 'vitest';
import { rng } from '../../../src/common/random.ts';
import { defaultModelConfig, type Variant } from '../../../src/gpu/model/config.ts';
import { CpuBackend } from '../../../src/gpu/model/cpu-backend.ts';
import { IdleClock, splitBatch } from '../../../src/gpu/model/micro-batches.ts';
import { Model } from '../../../src/gpu/model/model.ts';
import { initialParameters } from '../../../src/gpu/model/params.ts';
import { inlineScanner, poolScanner } from '../../../src/gpu/model/scanners.ts';
import { createNodeRosaPool } from '../../../src/rosa-worker/platform/node.ts';

// A batch split into micro-batches must train as the whole batch does: the same loss and, summed
// over the parts, the same parameter gradients. The parts hold different numbers of labelled
// positions here, so each part's gradient must be weighted by its share, not averaged.

const B = 4;
const T = 12;

function setup(variant: Variant) {
  const config = defaultModelConfig({
    vocabSize: 11,
    seqLen: T,
    layers: 2,
    width: 8,
    heads: 2,
    mlpHidden: 16,
    window: 3,
    variant,
    rosa: { bits: 4, semantics: 'rosa-tuning' },
  });
  const r = rng(5);
  const tokens = Int32Array.from({ length: B * T }, () => Math.floor(r() * 11));
  // The first sequence is mostly unlabelled: the parts' label counts differ.
  const labels = Int32Array.from({ length: B * T }, (_, i) =>
    i < T - 2 || i % 5 === 0 ? -1 : Math.floor(r() * 11),
  );
  return { config, tokens, labels, init: initialParameters(config, 2) };
}

async function gradients(variant: Variant, microBatches: number) {
  const { config, tokens, labels, init } = setup(variant);
  const model = new Model(new CpuBackend(), config, init);
  const scanner = inlineScanner();
  const { loss } = await model.forward(tokens, labels, B, T, scanner, true, { microBatches });
  model.backward();
  const grads = new Map([...model.params].map(([name, s]) => [name, Float32Array.from(s.grad)]));
  // The same split without gradients reports the same loss (the evaluation path).
  const evalLoss = (await model.forward(tokens, labels, B, T, scanner, false, { microBatches })).loss;
  return { loss, evalLoss, grads };
}

describe('micro-batches', () => {
  for (const variant of ['window+rosa', 'global', 'lrsa'] as const) {
    it(`${variant}: 2 and 4 parts give the whole batch's loss and gradients`, async () => {
      const whole = await gradients(variant, 1);
      for (const parts of [2, 4]) {
        const split = await gradients(variant, parts);
        expect(split.loss.count).toBe(whole.loss.count);
        expect(split.loss.correctCount).toBe(whole.loss.correctCount);
        expect(split.loss.meanLoss).toBeCloseTo(whole.loss.meanLoss, 5);
        expect(split.evalLoss.meanLoss).toBeCloseTo(whole.loss.meanLoss, 5);
        for (const [name, want] of whole.grads) {
          const got = split.grads.get(name)!;
          const scale = Math.max(1e-3, ...Array.from(want, Math.abs));
          let worst = 0;
          for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
          // Float32 sums in another order: a few ulps of the largest gradient.
          expect(worst / scale, `${variant} ${parts} parts: ${name}`).toBeLessThan(1e-5);
        }
      }
    });
  }

  it("interleaves the parts: a part's scan is requested while another's is still out", async () => {
    const { config, tokens, labels, init } = setup('window+rosa');
    const model = new Model(new CpuBackend(), config, init);
    const inline = inlineScanner();
    let pending = 0;
    let most = 0;
    const scanner = {
      ...inline,
      scan: (...args: Parameters<typeof inline.scan>) => {
        most = Math.max(most, ++pending);
        return inline.scan(...args).finally(() => pending--);
      },
    };
    for (const parts of [1, 2, 4]) {
      most = 0;
      await model.forward(tokens, labels, B, T, scanner, true, { microBatches: parts });
      expect(most).toBe(parts);
    }
  });

  it('window+rosa with the worker pool: parts scanned at once keep their own symbols', async () => {
    const whole = await gradients('window+rosa', 1);
    const pool = poolScanner(createNodeRosaPool({ size: 2 }));
    try {
      const { config, tokens, labels, init } = setup('window+rosa');
      const model = new Model(new CpuBackend(), config, init);
      await model.forward(tokens, labels, B, T, pool, true, { microBatches: 4 });
      model.backward();
      for (const [name, want] of whole.grads) {
        const got = model.params.get(name)!.grad;
        const scale = Math.max(1e-3, ...Array.from(want, Math.abs));
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
        expect(worst / scale, `pool, 4 parts: ${name}`).toBeLessThan(1e-5);
      }
    } finally {
      await pool.terminate?.();
    }
  });

  it('refuses a batch that does not split evenly, naming both numbers', () => {
    expect(() => splitBatch(new Int32Array(6), null, 3, 2, 2)).toThrow(
      /batch of 3 sequences does not split into 2/,
    );
  });

  it("weights each part's gradient by its share of the labelled positions", () => {
    const labels = Int32Array.from([-1, -1, -1, 4, 1, 2, 3, 5]);
    const parts = splitBatch(new Int32Array(8), labels, 4, 2, 2);
    expect(parts.map((p) => p.loss.gradScale)).toEqual([1 / 5, 4 / 5]);
    expect(Array.from(parts[1].labels!)).toEqual([1, 2, 3, 5]);
  });
});

describe('IdleClock', () => {
  afterEach(() => vi.restoreAllMocks());

  it('counts only the time when every unfinished part waits', async () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const clock = new IdleClock(2);
    let releaseA!: () => void;
    let releaseB!: () => void;
    const a = clock.wait(new Promise<void>((r) => (releaseA = r)));
    now = 10; // part B still records: not idle
    const b = clock.wait(new Promise<void>((r) => (releaseB = r)));
    now = 25; // both wait from 10 to 25
    releaseA();
    await a;
    now = 40; // A records again while B waits
    clock.done(); // A finished: B's wait alone is idle from 40
    now = 47;
    releaseB();
    await b;
    clock.done();
    expect(clock.total).toBe(15 + 7);
  });
});
