// Text generation from a text-task run (generate.ts), on the CPU backend: greedy generation is
// the argmax of the model's own logits for each context, a seed fixes a sampled text, bad
// requests are refused with the field named, and the engine streams tokens between steps.

import { describe, expect, it } from 'vitest';
import type { Variant } from '../../../src/gpu/model/config.ts';
import { inlineScanner } from '../../../src/gpu/model/scanners.ts';
import { type AnyRun, createRun } from '../../../src/gpu/train/factory.ts';
import { encodePrompt, generationLimit, sampleToken } from '../../../src/gpu/train/generate.ts';
import type { GeneratedToken, RunSpec, TrainerEvent } from '../../../src/gpu/train/protocol.ts';
import { argmaxRows } from '../../../src/gpu/train/tasks.ts';
import { cpuEngine, tinyTextSpec } from '../../harness/engine.ts';

const SEQ = 16;

function textSpec(id: string, variant: Variant = 'window+rosa', steps = 3): RunSpec {
  return tinyTextSpec(id, variant, { seqLen: SEQ, steps });
}

async function trainedRun(variant: Variant): Promise<AnyRun> {
  const env = { gpu: null, scanner: inlineScanner(), loadCorpus: async () => '', store: null };
  const run = await createRun(textSpec(`g-${variant}`, variant), env, () => {});
  while (await run.advance()) {}
  return run;
}

/** The next token the model predicts for `context`, from a forward pass run here. */
async function argmaxOf(run: AnyRun, context: Int32Array): Promise<number> {
  const V = run.spec.model.vocabSize;
  const T = context.length;
  await run.model.forward(context, null, 1, T, inlineScanner(), false);
  const logits = await run.model.readLogits();
  return argmaxRows(logits.subarray((T - 1) * V, T * V), 1, V)[0];
}

async function generateAll(run: AnyRun, request: Parameters<AnyRun['generation']>[0]) {
  const session = run.generation(request);
  while (!session.done) await session.step();
  return session.result();
}

describe('text generation', () => {
  // Prompt + length exceed seqLen, so the context slides; LRSA (sink 1, chunk 4) selects from
  // scored chunks at T = 16, ROSA rescans the context each token.
  for (const variant of ['window+rosa', 'lrsa', 'global'] as const) {
    it(`greedy (${variant}): each token is the argmax of the model's logits for its context`, async () => {
      const run = await trainedRun(variant);
      const request = { runId: run.spec.id, prompt: 'the quick brown', length: 8, temperature: 0, seed: 5 };
      const session = run.generation(request);
      const expected: number[] = [];
      while (!session.done) {
        const context = session.context();
        const want = await argmaxOf(run, context);
        const got = await session.step();
        expect(got.id).toBe(want);
        expect(got.probability).toBeGreaterThan(0);
        expected.push(want);
      }
      expect(session.context().length).toBe(SEQ);
      const again = await generateAll(run, { ...request, seed: 99 });
      // Greedy ignores the seed, and the same weights give the same text.
      expect(again.tokens.map((t) => t.id)).toEqual(expected);
      expect(again.text).toBe(session.result().text);
    });
  }

  it('sampling with a seed is reproducible, and another seed gives another text', async () => {
    const run = await trainedRun('window');
    const request = { runId: run.spec.id, prompt: 'a whale', length: 24, temperature: 1.5, seed: 7 };
    const a = await generateAll(run, request);
    const b = await generateAll(run, request);
    const c = await generateAll(run, { ...request, seed: 8 });
    expect(a.text).toHaveLength(24);
    expect(b.text).toBe(a.text);
    expect(c.text).not.toBe(a.text);
  });

  it('samples from softmax(logits / temperature) and is greedy at 0', () => {
    const logits = [0, Math.log(3), 0];
    expect(sampleToken(logits, 0, 0.99)).toEqual({ id: 1, probability: expect.closeTo(0.6, 6) });
    // Weights 1 : 3 : 1 → cumulative 0.2, 0.8, 1.
    expect(sampleToken(logits, 1, 0.1).id).toBe(0);
    expect(sampleToken(logits, 1, 0.5).id).toBe(1);
    expect(sampleToken(logits, 1, 0.9)).toEqual({ id: 2, probability: expect.closeTo(0.2, 6) });
    // A high temperature flattens the distribution.
    expect(sampleToken(logits, 1000, 0.9).id).toBe(2);
    expect(sampleToken(logits, 1000, 0.5).probability).toBeCloseTo(1 / 3, 3);
  });

  it('refuses characters outside the vocabulary, bad lengths and temperatures, naming the field', async () => {
    const run = await trainedRun('window');
    const base = { runId: run.spec.id, prompt: 'the fox', length: 4, temperature: 1, seed: 1 };
    expect(() => run.generation({ ...base, prompt: 'the Zebra' })).toThrow(
      /prompt: the character "Z" \(U\+005A, position 5\) is not in this model's vocabulary/,
    );
    expect(() => run.generation({ ...base, length: 0 })).toThrow(
      /length: must be a whole number from 1 to 64/,
    );
    expect(() => run.generation({ ...base, length: generationLimit(SEQ) + 1 })).toThrow(/length:/);
    expect(() => run.generation({ ...base, temperature: -1 })).toThrow(/temperature: must be from 0/);
    expect(() => run.generation({ ...base, prompt: '' })).toThrow(/prompt: is empty/);
  });

  it("spells a prompt in a base model's tokens when the task reads text with its tokenizer", () => {
    // A tokenizer vocabulary (task.tokenizer 'base') has no character list: any text encodes.
    const words = ['Call', ' me', ' Ish', 'mael'];
    const tokenizer = {
      size: words.length,
      decode: (id: number) => words[id],
      encode: (text: string) => Int32Array.from(words.flatMap((w, i) => (text.includes(w) ? [i] : []))),
    };
    expect(encodePrompt('Call me Ishmael', tokenizer)).toEqual([0, 1, 2, 3]);
    const chars = {
      size: 3,
      chars: ['a', 'b', '\u{FFFD}'],
      decode: (i: number) => 'ab'[i],
      encode: () => new Int32Array(),
    };
    expect(() => encodePrompt('abc', chars)).toThrow(/"c" \(U\+0063, position 3\)/);
  });

  it('refuses runs that were not trained on text', async () => {
    const env = { gpu: null, scanner: inlineScanner(), loadCorpus: async () => '', store: null };
    const spec = textSpec('n');
    const niah: RunSpec = { ...spec, task: { kind: 'niah', seqLen: SEQ, keyLength: 1, filler: 'random' } };
    const run = await createRun(niah, env, () => {});
    expect(() => run.generation({ runId: 'n', prompt: 'a', length: 1, temperature: 0, seed: 0 })).toThrow(
      /trained on niah, not on text/,
    );
  });
});

describe('engine.generate', () => {
  it('streams each token to the callback as it is sampled, in order, matching the result', async () => {
    const e = cpuEngine(null);
    await e.start(textSpec('s', 'window', 2));
    await e.idle();
    const streamed: GeneratedToken[] = [];
    const result = await e.generate(
      { runId: 's', prompt: 'the ', length: 6, temperature: 0.8, seed: 3 },
      (t) => streamed.push(t),
    );
    expect(streamed.map((t) => t.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(streamed.map((t) => t.text).join('')).toBe(result.text);
    expect(result.context).toBe(SEQ);
  });

  it('runs training steps between tokens while a run trains', async () => {
    const e = cpuEngine(null);
    const order: string[] = [];
    e.subscribe((ev: TrainerEvent) => {
      if (ev.type === 'step') order.push('step');
    });
    await e.start(textSpec('busy', 'window', 10_000));
    await new Promise((r) => setTimeout(r, 20));
    await e.generate({ runId: 'busy', prompt: 'the ', length: 4, temperature: 0, seed: 0 }, () =>
      order.push('token'),
    );
    await e.stop('busy');
    await e.idle();
    const first = order.indexOf('token');
    const last = order.lastIndexOf('token');
    // Steps ran between the first and the last token: the generation did not hold the queue.
    expect(order.slice(first, last).filter((x) => x === 'step').length).toBeGreaterThanOrEqual(3);
  });

  it('stops after the current token on cancelGeneration, keeping the text sampled so far', async () => {
    const e = cpuEngine(null);
    await e.start(textSpec('c', 'window', 2));
    await e.idle();
    const request = { runId: 'c', prompt: 'the ', length: 40, temperature: 0.8, seed: 3 };
    const full = await e.generate(request);
    expect(full.stopped).toBe(false);
    const streamed: GeneratedToken[] = [];
    const stopped = await e.generate(request, (t) => {
      streamed.push(t);
      // Cancelled from the callback of the third token: no fourth is sampled.
      if (t.index === 2) void e.cancelGeneration('c');
    });
    expect(stopped.stopped).toBe(true);
    expect(stopped.tokens.map((t) => t.index)).toEqual([0, 1, 2]);
    expect(streamed).toHaveLength(3);
    // The same seed: the text so far is the start of the uncancelled one.
    expect(stopped.text).toBe(full.text.slice(0, 3));
    // A cancel with nothing in progress does nothing, and the next generation runs to its end.
    await e.cancelGeneration('c');
    expect((await e.generate({ ...request, length: 5 })).tokens).toHaveLength(5);
  });

  it('cancels only the generations of the run named', async () => {
    const e = cpuEngine(null);
    await e.start(textSpec('a', 'window', 2));
    await e.start(textSpec('b', 'window', 2));
    await e.idle();
    const request = { prompt: 'the ', length: 12, temperature: 0, seed: 1 };
    let cancelled = false;
    const [a, b] = await Promise.all([
      e.generate({ ...request, runId: 'a' }, (t) => {
        if (t.index === 1 && !cancelled) {
          cancelled = true;
          void e.cancelGeneration('a');
        }
      }),
      e.generate({ ...request, runId: 'b' }),
    ]);
    expect(a.stopped).toBe(true);
    expect(a.tokens.length).toBeLessThan(12);
    expect(b.stopped).toBe(false);
    expect(b.tokens).toHaveLength(12);
  });
});
