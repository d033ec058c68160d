// Defaults and validation of the training configuration.

import { niahMinLength } from '../../tasks/niah.ts';
import type { FieldError } from '../model/config.ts';
import type { TaskSpec, TrainConfig } from './protocol.ts';

export function defaultTrainConfig(overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    steps: 500,
    batchSize: 8,
    lr: 3e-3,
    rosaLr: 3e-3,
    minLrFactor: 0.1,
    warmupSteps: 20,
    lengthWarmup: 0,
    weightDecay: 0.01,
    beta1: 0.9,
    beta2: 0.98,
    eps: 1e-8,
    gradClip: 1,
    protocol: 'all',
    stageASteps: 0,
    evalEvery: 50,
    evalBatches: 4,
    checkpointEvery: 0,
    seed: 1,
    ...overrides,
  };
}

function check(e: FieldError[], field: string, ok: boolean, message: string): void {
  if (!ok) e.push({ field, message });
}

const isInt = (x: unknown, min: number, max: number) =>
  typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max;
const isNum = (x: unknown, min: number, max: number) =>
  typeof x === 'number' && Number.isFinite(x) && x >= min && x <= max;

export function validateTrainConfig(t: TrainConfig): FieldError[] {
  const e: FieldError[] = [];
  check(
    e,
    'train.steps',
    isInt(t.steps, 1, 10_000_000),
    `must be a whole number from 1 to 10000000 (got ${t.steps})`,
  );
  check(
    e,
    'train.batchSize',
    isInt(t.batchSize, 1, 4096),
    `must be a whole number from 1 to 4096 (got ${t.batchSize})`,
  );
  check(e, 'train.lr', isNum(t.lr, 0, 1), `must be between 0 and 1 (got ${t.lr})`);
  check(e, 'train.rosaLr', isNum(t.rosaLr, 0, 1), `must be between 0 and 1 (got ${t.rosaLr})`);
  check(e, 'train.minLrFactor', isNum(t.minLrFactor, 0, 1), `must be between 0 and 1 (got ${t.minLrFactor})`);
  check(
    e,
    'train.warmupSteps',
    isInt(t.warmupSteps, 0, t.steps),
    `must be a whole number from 0 to steps (got ${t.warmupSteps})`,
  );
  check(
    e,
    'train.weightDecay',
    isNum(t.weightDecay, 0, 10),
    `must be between 0 and 10 (got ${t.weightDecay})`,
  );
  check(e, 'train.beta1', isNum(t.beta1, 0, 0.9999999), `must be in [0, 1) (got ${t.beta1})`);
  check(e, 'train.beta2', isNum(t.beta2, 0, 0.9999999), `must be in [0, 1) (got ${t.beta2})`);
  check(e, 'train.eps', isNum(t.eps, 1e-30, 1), `must be in (0, 1] (got ${t.eps})`);
  check(
    e,
    'train.gradClip',
    isNum(t.gradClip, 0, 1e6),
    `must be ≥ 0 (0 disables clipping) (got ${t.gradClip})`,
  );
  check(
    e,
    'train.protocol',
    t.protocol === 'all' || t.protocol === 'adapter-only' || t.protocol === 'two-stage',
    'must be all, adapter-only or two-stage',
  );
  if (t.protocol === 'two-stage') {
    check(
      e,
      'train.stageASteps',
      isInt(t.stageASteps, 1, t.steps - 1),
      `must be from 1 to steps − 1 (got ${t.stageASteps})`,
    );
  }
  check(
    e,
    'train.evalEvery',
    isInt(t.evalEvery, 0, 10_000_000),
    `must be a whole number ≥ 0 (got ${t.evalEvery})`,
  );
  check(
    e,
    'train.evalBatches',
    isInt(t.evalBatches, 1, 10_000),
    `must be a whole number from 1 to 10000 (got ${t.evalBatches})`,
  );
  check(
    e,
    'train.checkpointEvery',
    isInt(t.checkpointEvery, 0, 10_000_000),
    `must be a whole number ≥ 0 (got ${t.checkpointEvery})`,
  );
  check(
    e,
    'train.seed',
    isInt(t.seed, 0, 2 ** 31 - 1),
    `must be a whole number from 0 to 2147483647 (got ${t.seed})`,
  );
  return e;
}

export function validateTaskSpec(task: TaskSpec): FieldError[] {
  const e: FieldError[] = [];
  check(
    e,
    'task.seqLen',
    isInt(task.seqLen, 8, 65536),
    `must be a whole number from 8 to 65536 (got ${task.seqLen})`,
  );
  switch (task.kind) {
    case 'niah':
      check(e, 'task.keyLength', isInt(task.keyLength, 1, 8), `must be from 1 to 8 (got ${task.keyLength})`);
      check(
        e,
        'task.seqLen',
        !isInt(task.keyLength, 1, 8) || task.seqLen >= niahMinLength(task.keyLength),
        `must be at least ${niahMinLength(task.keyLength)} for a ${task.keyLength}-digit key`,
      );
      break;
    case 'mqar':
      check(
        e,
        'task.vocabSize',
        isInt(task.vocabSize, 8, 65536),
        `must be from 8 to 65536 (got ${task.vocabSize})`,
      );
      check(
        e,
        'task.pairs',
        isInt(task.pairs, 1, Math.floor(task.seqLen / 4)),
        `must be from 1 to seqLen / 4 (got ${task.pairs})`,
      );
      check(e, 'task.seqLen', task.seqLen % 2 === 0, 'must be even for MQAR');
      check(
        e,
        'task.pairs',
        !isInt(task.vocabSize, 8, 65536) ||
          !isInt(task.pairs, 1, 65536) ||
          task.pairs <= Math.floor(task.vocabSize / 2) - 1,
        `at most ${Math.floor(task.vocabSize / 2) - 1} keys fit in vocabulary ${task.vocabSize} (got ${task.pairs})`,
      );
      break;
    case 'induction':
      check(
        e,
        'task.vocabSize',
        isInt(task.vocabSize, 2, 65536),
        `must be from 2 to 65536 (got ${task.vocabSize})`,
      );
      check(
        e,
        'task.segment',
        isInt(task.segment, 2, Math.floor(task.seqLen / 2)),
        `must be from 2 to seqLen / 2 (got ${task.segment})`,
      );
      break;
    case 'text':
      check(
        e,
        'task.text',
        task.source !== 'user' || (task.text?.length ?? 0) > 0,
        'is empty: paste or upload a text',
      );
      break;
  }
  return e;
}
