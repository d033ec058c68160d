// Cross-field rules of the attention layout: grouped-query attention needs kvHeads to divide heads.

import { describe, expect, it } from 'vitest';
import { modelRules } from '../../src/config/rules.ts';
import type { FieldError } from '../../src/config/validate.ts';
import { defaultModelConfig, kvHeadCount } from '../../src/gpu/model/config.ts';

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
