// Does ROSA retrieve the needle? For NIAH samples with the needle at the run's headline
// distance, the share of (sample, route) pairs per ROSA layer whose retrieval at the first
// answer position lands on the needle's key digits: the thing that has to be learnt before
// the answer can be copied, measured before and after training.

import { type NiahTask, stackSamples } from '../../tasks/niah.ts';
import type { Sized } from '../model/backend.ts';
import { rosaLayers } from '../model/config.ts';
import type { TrainingRun } from './run.ts';

export interface NeedleHits {
  distance: number;
  samples: number;
  /** Per ROSA layer: hits / (samples · routes). */
  layers: Array<{ layer: number; share: number }>;
}

export async function rosaNeedleHits<F extends Sized, I extends Sized>(
  run: TrainingRun<F, I>,
  task: NiahTask,
  samples: number,
): Promise<NeedleHits | null> {
  const layers = rosaLayers(run.spec.model);
  if (layers.length === 0) return null;
  const distance = run.niahHeadlineDistance(task);
  const set = task.atDistance(distance, samples);
  const batch = stackSamples(set.map((s) => ({ tokens: s.tokens, targets: s.answerTargets })));
  const { B, T } = batch;
  await run.model.forward(batch.tokens, null, B, T, run.deps.scanner, false);
  const R = run.spec.model.width / run.spec.model.rosa.bits;
  const out: NeedleHits = { distance, samples: B, layers: [] };
  for (const layer of layers) {
    const scan = run.model.lastScan(layer);
    if (!scan) continue;
    let hits = 0;
    set.forEach((sample, b) => {
      const t = sample.answerTargets.findIndex((x) => x >= 0);
      const first = sample.keyPos;
      const last = sample.keyPos + sample.key.length - 1;
      for (let r = 0; r < R; r++) {
        const d = scan.host.dest[(b * R + r) * T + t];
        if (d >= first && d <= last) hits++;
      }
    });
    out.layers.push({ layer, share: hits / (B * R) });
  }
  return out;
}
