// Moving a trained model's weights into another variant (ROSA-Tuning's retrofit): every base
// tensor is copied by name; what only the new variant has (a ROSA adapter) starts from its
// usual initialisation, so with e0 = e1 = 0 the new model computes exactly what the old
// weights compute under the new attention.

import type { ModelConfig } from './config.ts';
import { initialParameters, parameterSpecs } from './params.ts';

export class TransplantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransplantError';
  }
}

/** Parameters of `target`: the source's tensors where the names agree, fresh ones elsewhere. */
export function transplantParameters(
  source: ReadonlyMap<string, Float32Array>,
  target: ModelConfig,
  seed: number,
): Map<string, Float32Array> {
  const out = initialParameters(target, seed);
  for (const spec of parameterSpecs(target)) {
    const from = source.get(spec.name);
    const elements = spec.shape.reduce((a, b) => a * b, 1);
    if (!from) {
      if (spec.group === 'base') {
        throw new TransplantError(
          `the checkpoint has no tensor "${spec.name}": it is not the same base model (layers, width)`,
        );
      }
      continue;
    }
    if (from.length !== elements) {
      throw new TransplantError(
        `tensor "${spec.name}" has ${from.length} values in the checkpoint but [${spec.shape}] here: ` +
          'the base model must have the same layers, width, heads, head size, MLP width and vocabulary',
      );
    }
    out.set(spec.name, Float32Array.from(from));
  }
  return out;
}
