// Defaults of the training configuration, from the settings schema.

import { type TrainConfig, trainSchema } from '../../config/schema.ts';
import { defaultsOf } from '../../config/walk.ts';

export function defaultTrainConfig(overrides: Partial<TrainConfig> = {}): TrainConfig {
  return { ...(defaultsOf(trainSchema) as TrainConfig), ...overrides };
}
