// Cross-field rules of a run spec: limits that depend on other settings (heads divide width
// unless the head size is set, bits divide width, warm-ups within the run, a key that fits the
// sequence) and on the device
// (buffer sizes, total memory). Per-field limits live in schema.ts.

import { niahMinLength, TEXT_FILLERS } from '../tasks/niah.ts';
import { minTextLength } from '../tasks/text.ts';
import {
  cpuMemoryBudget,
  estimateRunMemory,
  formatBytes,
  gpuMemoryBudget,
  hostMemoryBytes,
} from './memory.ts';
import {
  ATTENTION_MAX_HEAD_DIM,
  type ModelConfig,
  type RunSpec,
  type TaskSpec,
  type TrainConfig,
  variantHasLrsa,
  variantHasRosa,
} from './schema.ts';
import type { FieldError } from './validate.ts';

/** Device limits that bound the model size (from GpuContext.limits); absent on the CPU backend. */
export interface SizeLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  /** Bytes of device memory a run may use, where known; else a multiple of maxBufferSize (memory.ts). */
  memoryBudget?: number;
}

const isWhole = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);
const isObject = (x: unknown) => typeof x === 'object' && x !== null;

/** Channels per attention head: model.headDim where set (> 0), else width / heads. */
export function headDimOf(m: Pick<ModelConfig, 'width' | 'heads' | 'headDim'>): number {
  return m.headDim ? m.headDim : m.width / m.heads;
}

/** Largest tensor (in f32 elements) a training step allocates, for the buffer-limit check. */
export function largestTensorElements(config: ModelConfig, batch: number): number {
  const N = batch * config.seqLen;
  // q, k, v and the attention output are [N, heads · headDim]; Wq and Wo [heads · headDim, width].
  const attention = config.heads * headDimOf(config);
  return Math.max(
    N * config.vocabSize,
    N * config.mlpHidden,
    N * config.width,
    N * attention,
    config.vocabSize * config.width,
    attention * config.width,
  );
}

export function modelRules(m: ModelConfig, e: FieldError[], warn: FieldError[]): void {
  if (isWhole(m.headDim) && m.headDim > 0) {
    // An explicit head size (Qwen3: 128 at width 1024, 16 heads) frees heads from dividing width.
    if (m.headDim % 2 !== 0) {
      e.push({ field: 'model.headDim', message: `must be even for RoPE (got ${m.headDim})` });
    }
  } else if (isWhole(m.width) && isWhole(m.heads) && m.heads > 0) {
    const head = m.width / m.heads;
    if (m.width % m.heads !== 0) {
      e.push({
        field: 'model.heads',
        message: `must divide width ${m.width} (got ${m.heads}), or set model.headDim`,
      });
    } else if (head % 2 !== 0) {
      e.push({ field: 'model.heads', message: `width / heads must be even for RoPE (got ${head})` });
    } else if (head > ATTENTION_MAX_HEAD_DIM) {
      e.push({
        field: 'model.heads',
        message: `head size width / heads must be ≤ ${ATTENTION_MAX_HEAD_DIM} (got ${head})`,
      });
    }
  }
  if (isWhole(m.heads) && isWhole(m.kvHeads) && m.kvHeads > 0 && m.heads % m.kvHeads !== 0) {
    e.push({
      field: 'model.kvHeads',
      message: `must divide heads ${m.heads} (got ${m.kvHeads}; 0 means as many as heads)`,
    });
  }
  const layerLimit = (field: string, list: unknown) => {
    if (!Array.isArray(list) || !isWhole(m.layers)) return;
    for (const l of list) {
      if (isWhole(l) && l >= m.layers) {
        e.push({ field, message: `names layer ${l}, but the model has layers 0 to ${m.layers - 1}` });
      }
    }
  };
  layerLimit('model.globalLayers', m.globalLayers);
  if (m.variant !== 'global' && isWhole(m.window) && isWhole(m.seqLen) && m.window >= m.seqLen) {
    warn.push({
      field: 'model.window',
      message: `covers the whole sequence (${m.seqLen} tokens): the window is then global attention`,
    });
  }
  // A stored spec may hold anything: rules read nested parts only when they are objects.
  if (variantHasRosa(m.variant) && isObject(m.rosa)) {
    const r = m.rosa;
    layerLimit('model.rosa.layers', r.layers);
    if (isWhole(r.bits) && isWhole(m.width) && m.width % r.bits !== 0) {
      e.push({ field: 'model.rosa.bits', message: `must divide width ${m.width} (got ${r.bits})` });
    }
    if (r.semantics === 'rosa-tuning' && r.qk !== 'independent') {
      warn.push({
        field: 'model.rosa.qk',
        message:
          r.qk === 'shared'
            ? 'with rosa-tuning semantics and one shared q/k projection, every query matches only itself'
            : 'tied q/k start equal: with rosa-tuning semantics every query then matches only itself until they drift apart',
      });
    }
  }
  if (
    variantHasLrsa(m.variant) &&
    isObject(m.lrsa) &&
    isWhole(m.lrsa.chunk) &&
    Math.floor(m.lrsa.ratio * m.lrsa.chunk) < 1
  ) {
    e.push({
      field: 'model.lrsa.ratio',
      message: `keeps no token of a ${m.lrsa.chunk}-token chunk; raise it`,
    });
  }
}

export function trainRules(t: TrainConfig, e: FieldError[]): void {
  if (isWhole(t.batchSize) && isWhole(t.microBatches) && t.batchSize % t.microBatches !== 0) {
    e.push({
      field: 'train.microBatches',
      message: `must divide the batch size ${t.batchSize} (got ${t.microBatches})`,
    });
  }
  if (!isWhole(t.steps)) return;
  const within = (field: keyof TrainConfig, what: string) => {
    const x = t[field];
    if (isWhole(x) && x > t.steps) {
      e.push({ field: `train.${field}`, message: `${what} must be ≤ steps ${t.steps} (got ${x})` });
    }
  };
  within('warmupSteps', 'the warm-up');
  within('lengthWarmup', 'the length warm-up');
  if (
    t.protocol === 'two-stage' &&
    isWhole(t.stageASteps) &&
    (t.stageASteps < 1 || t.stageASteps > t.steps - 1)
  ) {
    e.push({
      field: 'train.stageASteps',
      message: `must be from 1 to steps − 1 = ${t.steps - 1} for two-stage training (got ${t.stageASteps})`,
    });
  }
}

export function taskRules(task: TaskSpec, e: FieldError[]): void {
  const T = task.seqLen;
  if (!isWhole(T)) return;
  switch (task.kind) {
    case 'niah':
      if (isWhole(task.keyLength) && T < niahMinLength(task.keyLength)) {
        e.push({
          field: 'task.seqLen',
          message: `must be at least ${niahMinLength(task.keyLength)} for a ${task.keyLength}-digit key (got ${T})`,
        });
      }
      if (task.tokenizer === 'base' && !TEXT_FILLERS.includes(task.filler)) {
        e.push({
          field: 'task.filler',
          message: `must be ${TEXT_FILLERS.join(' or ')} with the base model's tokens: the haystack is natural text (got ${task.filler})`,
        });
      }
      break;
    case 'mqar':
      if (T % 2 !== 0) e.push({ field: 'task.seqLen', message: `must be even for MQAR (got ${T})` });
      if (isWhole(task.pairs) && task.pairs > Math.floor(T / 4)) {
        e.push({
          field: 'task.pairs',
          message: `must be ≤ seqLen / 4 = ${Math.floor(T / 4)} (got ${task.pairs})`,
        });
      }
      if (isWhole(task.vocabSize) && isWhole(task.pairs) && task.pairs > Math.floor(task.vocabSize / 2) - 1) {
        e.push({
          field: 'task.pairs',
          message: `at most ${Math.floor(task.vocabSize / 2) - 1} keys fit in vocabulary ${task.vocabSize} (got ${task.pairs})`,
        });
      }
      break;
    case 'induction':
      if (isWhole(task.segment) && task.segment > Math.floor(T / 2)) {
        e.push({
          field: 'task.segment',
          message: `must be ≤ seqLen / 2 = ${Math.floor(T / 2)} (got ${task.segment})`,
        });
      }
      break;
    case 'text':
      if (task.source === 'user' && !(task.text ?? '').length) {
        e.push({ field: 'task.text', message: 'is empty: paste or upload a text' });
      } else if (
        task.source === 'user' &&
        typeof task.text === 'string' &&
        task.text.length < minTextLength(T)
      ) {
        // Counted in UTF-16 units, an upper bound of the characters the task will see.
        e.push({
          field: 'task.text',
          message: `is too short: ${task.text.length} characters, but a sequence of ${T} needs at least ${minTextLength(T)} (a tenth is held out for validation)`,
        });
      }
      if (isWhole(task.repeat) && 2 * task.repeat > T) {
        e.push({
          field: 'task.repeat',
          message: `must be ≤ seqLen / 2 = ${Math.floor(T / 2)} (got ${task.repeat})`,
        });
      }
      break;
  }
}

export function runRules(
  spec: RunSpec,
  context: { limits?: SizeLimits; webgpuUnavailable?: string | null; hostMemory?: number | null },
): { errors: FieldError[]; warnings: FieldError[] } {
  const errors: FieldError[] = [];
  const warnings: FieldError[] = [];
  taskRules(spec.task, errors);
  modelRules(spec.model, errors, warnings);
  trainRules(spec.train, errors);
  if (spec.backend === 'webgpu' && context.webgpuUnavailable) {
    errors.push({
      field: 'backend',
      message: `WebGPU cannot be used here (${context.webgpuUnavailable}); choose cpu`,
    });
  }
  if (isWhole(spec.model.seqLen) && isWhole(spec.task.seqLen) && spec.model.seqLen < spec.task.seqLen) {
    errors.push({
      field: 'task.seqLen',
      message: `must be ≤ the model's sequence length ${spec.model.seqLen}`,
    });
  }
  const limits = spec.backend === 'webgpu' ? context.limits : undefined;
  if (limits && errors.length === 0) {
    const limit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    const batch = spec.train.batchSize;
    const bytes = largestTensorElements(spec.model, batch) * 4;
    const tableBytes = spec.model.vocabSize * spec.model.width * 4;
    if (tableBytes > limit) {
      // No sequence length helps: the embedding table alone is over the limit.
      errors.push({
        field: 'model.vocabSize',
        message:
          `a ${spec.model.vocabSize} × ${spec.model.width} embedding table needs ${(tableBytes / 2 ** 20).toFixed(0)} MiB ` +
          `but this device allows ${(limit / 2 ** 20).toFixed(0)} MiB per storage buffer`,
      });
    } else if (bytes > limit) {
      const m = spec.model;
      const perToken = Math.max(m.vocabSize, m.mlpHidden, m.width, m.heads * headDimOf(m));
      const maxSeq = Math.floor(limit / 4 / batch / perToken);
      errors.push({
        field: 'task.seqLen',
        message:
          `needs a ${(bytes / 2 ** 20).toFixed(0)} MiB buffer but this device allows ${(limit / 2 ** 20).toFixed(0)} MiB ` +
          `per storage buffer; with batch ${batch} the longest sequence that fits is ${maxSeq}`,
      });
    }
  }
  if (errors.length === 0) memoryRule(spec, context, errors);
  return { errors, warnings };
}

/** Whether every size the memory estimate reads is a positive whole number. */
function sized(spec: RunSpec): boolean {
  const m = spec.model;
  const sizes = [m.width, m.mlpHidden, m.vocabSize, m.heads, m.layers, m.seqLen, spec.train.batchSize];
  return sizes.every((x) => isWhole(x) && x > 0) && isObject(m.rosa) && isObject(m.lrsa);
}

/** Refuses a run whose estimated total memory exceeds the device's (WebGPU) or host's (CPU) budget. */
function memoryRule(
  spec: RunSpec,
  context: { limits?: SizeLimits; hostMemory?: number | null },
  errors: FieldError[],
): void {
  if (!sized(spec)) return;
  // WebGPU without known limits is checked once they are (the form says so meanwhile).
  if (spec.backend === 'webgpu' && !context.limits) return;
  const budget =
    spec.backend === 'webgpu' && context.limits
      ? gpuMemoryBudget(context.limits)
      : cpuMemoryBudget(context.hostMemory ?? hostMemoryBytes());
  const estimate = estimateRunMemory(spec.model, spec.train.batchSize, spec.backend);
  if (estimate.total <= budget.bytes) return;
  errors.push({
    field: 'model',
    message:
      `needs about ${formatBytes(estimate.total)} in all (parameters and AdamW ${formatBytes(estimate.parameters + estimate.optimizer)}, ` +
      `activations ${formatBytes(estimate.activations + estimate.activationGradients + estimate.scan + estimate.scratch)}), ` +
      `more than the limit of ${formatBytes(budget.bytes)} (${budget.source}) on ${spec.backend}: ` +
      'use fewer layers, a smaller width, batch or sequence',
  });
}
