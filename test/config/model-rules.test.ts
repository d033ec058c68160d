// Cross-field rules of the attention layout: grouped-query attention needs kvHeads to divide heads;
// an explicit head size (model.headDim) must be even and frees heads from dividing width.

import { describe, expect, it } from 'vitest';
import { largestTensorElements, modelRules } from '../../src/config/rules.ts';
import { ATTENTION_MAX_HEAD_DIM, modelSchema } from '../../src/config/schema.ts';
import type { FieldError } from '../../src/config/validate.ts';
import { defaultModelConfig, headDim, kvHeadCount } from '../../src/gpu/model/config.ts';

function errorsOf(overrides: Parameters<typeof defaultModelConfig>[0]): FieldError[] {
  const errors: FieldError[] = [];
  modelRules(defaultModelConfig(overrides), errors, []);
  return errors;
}

describe('model rules: key/value heads', () => {
  it('accepts 0 (as many as heads) and every divisor of heads', () => {
    for (const kvHeads of [0, 1, 2, 4]) expect(errorsOf({ width: 64, heads: 4, kvHeads })).toEqual([]);
  });

  it('refuses a kvHeads that does not divide heads, naming model.kvHeads', () => {
    for (const kvHeads of [3, 8]) {
      const errors = errorsOf({ width: 64, heads: 4, kvHeads });
      expect(errors).toHaveLength(1);
      expect(errors[0].field).toBe('model.kvHeads');
      expect(errors[0].message).toMatch(/must divide heads 4/);
    }
  });

  it('reads 0 as one key/value head per query head', () => {
    expect(kvHeadCount(defaultModelConfig({ heads: 4, width: 64 }))).toBe(4);
    expect(kvHeadCount(defaultModelConfig({ heads: 4, width: 64, kvHeads: 2 }))).toBe(2);
  });
});

describe('model rules: head size (model.headDim)', () => {
  it('0 or absent is width / heads; a set head size frees heads from dividing width', () => {
    expect(headDim(defaultModelConfig({ width: 64, heads: 4 }))).toBe(16);
    expect(headDim(defaultModelConfig({ width: 64, heads: 4, headDim: 0 }))).toBe(16);
    // Qwen3-0.6B: width 1024, 16 heads of 128.
    const qwen = defaultModelConfig({ width: 1024, heads: 16, kvHeads: 8, headDim: 128 });
    expect(headDim(qwen)).toBe(128);
    expect(errorsOf({ width: 1024, heads: 16, kvHeads: 8, headDim: 128 })).toEqual([]);
    expect(errorsOf({ width: 60, heads: 8, headDim: 16 })).toEqual([]);
    expect(errorsOf({ width: 60, heads: 8 }).map((e) => e.field)).toEqual(['model.heads']);
  });

  it('refuses an odd head size, naming model.headDim', () => {
    const errors = errorsOf({ width: 64, heads: 4, headDim: 7 });
    expect(errors).toEqual([{ field: 'model.headDim', message: 'must be even for RoPE (got 7)' }]);
  });

  it('refuses a head size beyond the attention kernels’ limit, naming the limit', () => {
    const parsed = modelSchema.safeParse(defaultModelConfig({ headDim: ATTENTION_MAX_HEAD_DIM + 2 }));
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0].path).toEqual(['headDim']);
    expect(parsed.error!.issues[0].message).toMatch(`from 0 to ${ATTENTION_MAX_HEAD_DIM}`);
  });

  it('counts the heads · headDim wide activations and Wq in the largest tensor', () => {
    const base = { vocabSize: 10, seqLen: 8, width: 16, heads: 4, mlpHidden: 16 };
    expect(largestTensorElements(defaultModelConfig(base), 1)).toBe(16 * 16); // Wq
    expect(largestTensorElements(defaultModelConfig({ ...base, headDim: 32 }), 1)).toBe(4 * 32 * 16);
    expect(largestTensorElements(defaultModelConfig({ ...base, headDim: 32 }), 100)).toBe(800 * 4 * 32);
  });
});
