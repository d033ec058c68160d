// Logits of a model on the CPU backend (the kernels' CPU twins), for checking exported and
// imported weights against other implementations. ROSA layers scan on the calling thread.

import type { ModelConfig } from '../gpu/model/config.ts';
import { CpuBackend } from '../gpu/model/cpu-backend.ts';
import { Model } from '../gpu/model/model.ts';
import { inlineScanner } from '../gpu/model/scanners.ts';

/** Logits [T, vocabSize] (row t: the prediction after tokens[0..t]) of one sequence. */
export async function cpuLogits(
  config: ModelConfig,
  parameters: ReadonlyMap<string, Float32Array>,
  tokens: readonly number[],
): Promise<Float32Array> {
  const T = tokens.length;
  if (T === 0) throw new Error('cpuLogits: no tokens');
  for (const t of tokens) {
    if (!Number.isInteger(t) || t < 0 || t >= config.vocabSize)
      throw new Error(`cpuLogits: token ${t} is outside the vocabulary 0 … ${config.vocabSize - 1}`);
  }
  const model = new Model(new CpuBackend(), config, new Map(parameters));
  try {
    await model.forward(Int32Array.from(tokens), null, 1, T, inlineScanner());
    return await model.readLogits();
  } finally {
    model.dispose();
  }
}

/** Logits as rows (one array per position), as the command line prints them. */
export function logitRows(logits: Float32Array, vocabSize: number): number[][] {
  const rows: number[][] = [];
  for (let at = 0; at < logits.length; at += vocabSize)
    rows.push(Array.from(logits.subarray(at, at + vocabSize)));
  return rows;
}
