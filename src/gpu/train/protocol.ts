// The typed interface between the trainer (a dedicated worker in the browser, the
// experiment CLI in Node) and whoever drives it (the UI). Everything here is plain,
// structured-cloneable data.

import type { FieldError, ModelConfig } from '../model/config.ts';

export type TaskSpec =
  | {
      kind: 'niah';
      seqLen: number;
      keyLength: number;
      filler: 'random' | 'letters' | 'repeat' | 'copy' | 'corpus';
      corpus?: 'moby-dick';
      /** Loss on the answer only (default) or next-token loss everywhere. */
      loss?: 'answer' | 'all';
    }
  | {
      kind: 'mqar';
      seqLen: number;
      vocabSize: number;
      pairs: number;
      gaps: 'power' | 'uniform';
      randomFiller: boolean;
    }
  | { kind: 'text'; seqLen: number; source: 'moby-dick' | 'user'; text?: string; name?: string }
  | { kind: 'induction'; seqLen: number; vocabSize: number; segment: number };

export type TrainingProtocol = 'all' | 'adapter-only' | 'two-stage';

export interface TrainConfig {
  steps: number;
  batchSize: number;
  /** Peak learning rate of the base model. */
  lr: number;
  /** Peak learning rate of the ROSA adapter (Wq, Wk, Wv, W_out, e0, e1). */
  rosaLr: number;
  /** The cosine schedule ends at lr · minLrFactor. */
  minLrFactor: number;
  warmupSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Global gradient-norm clip; 0 disables clipping. */
  gradClip: number;
  /** 'all' trains everything; 'adapter-only' freezes the base (the paper's protocol); 'two-stage' does adapter-only for stageASteps, then everything. */
  protocol: TrainingProtocol;
  stageASteps: number;
  /**
   * Sequence-length warm-up: batches are 16 tokens long for the first half of lengthWarmup
   * steps, then 32, 64, … up to full length (tasks that allow shorter sequences). Attention
   * learns to find things by content far quicker on short sequences. 0 = off.
   */
  lengthWarmup?: number;
  evalEvery: number;
  evalBatches: number;
  checkpointEvery: number;
  seed: number;
}

export type Backend = 'webgpu' | 'cpu';

export interface RunSpec {
  id: string;
  /** Shown in legends: e.g. "window+rosa". */
  name: string;
  task: TaskSpec;
  model: ModelConfig;
  train: TrainConfig;
  backend: Backend;
  /** Start from this checkpoint (its weights; optimizer state too when the shapes match). */
  fromCheckpoint?: string;
}

/** Wall-clock split of one training step, in milliseconds. */
export interface StepTiming {
  total: number;
  /** GPU (or CPU backend) forward work, excluding waits for the scan. */
  forward: number;
  /** Time the ROSA workers spent scanning (sum over layers). */
  scan: number;
  /** Time the forward pass stood still waiting for scan results. */
  waiting: number;
  /** Time the scan ran while the GPU was busy with attention (sum over layers). */
  overlap: number;
  backward: number;
  optimizer: number;
}

export interface StepMetrics {
  step: number;
  loss: number;
  accuracy: number;
  lr: number;
  gradNorm: number;
  tokensPerSecond: number;
  timing: StepTiming;
}

export interface EvalMetrics {
  step: number;
  loss: number;
  accuracy: number;
  /** Loss by position bucket (0: t = 0, b: 2^(b−1) ≤ t < 2^b), text tasks. */
  lossByPosition?: number[];
  /** NIAH exact-match accuracy with the needle `distance` tokens before the query. */
  niahAtDistance?: { distance: number; accuracy: number };
}

export type RunStatus = 'queued' | 'running' | 'paused' | 'stopped' | 'finished' | 'failed';

export type TrainerEvent =
  | {
      type: 'started';
      runId: string;
      totalSteps: number;
      parameters: number;
      gpuBytes: number;
      backend: Backend;
    }
  | { type: 'step'; runId: string; metrics: StepMetrics }
  | { type: 'eval'; runId: string; metrics: EvalMetrics }
  | { type: 'checkpoint'; runId: string; step: number; key: string }
  | { type: 'status'; runId: string; status: RunStatus; step: number; message?: string }
  | { type: 'error'; runId: string; message: string; fields?: FieldError[] };

/** Which earlier positions ROSA retrieved for one sample and layer. */
export interface RetrievalMap {
  runId: string;
  layer: number;
  T: number;
  /** Display text of each input token. */
  tokens: string[];
  routes: number;
  /** dest[r·T + t]: position retrieved for query position t on route r, −1 for none. */
  dest: Int32Array;
  /** Keys the attention of this layer can see from t: t−window+1 … t (window ≥ T: all). */
  window: number;
  attention: 'global' | 'window' | 'lrsa';
}

export interface NiahQuery {
  runId: string;
  haystack: string;
  /** The key to hide (digits). */
  key: string;
  /** Needle position as a fraction of the haystack (0 = start, 1 = end). */
  depth: number;
}

export interface NiahAnswer {
  runId: string;
  answer: string;
  correct: boolean;
  /** Token positions of the needle marker and the query marker in the model input. */
  needlePos: number;
  queryPos: number;
  tokens: string[];
  /** Per ROSA layer: for each answer position, the positions retrieved (one per route, −1 none). */
  retrievals: Array<{ layer: number; position: number; dest: number[] }>;
}

export interface NiahGridCell {
  length: number;
  depth: number;
  accuracy: number;
}

export interface CheckpointInfo {
  key: string;
  runId: string;
  name: string;
  step: number;
  savedAt: string;
  bytes: number;
  variant: string;
  /** Set when the stored files are unreadable: the entry can only be deleted. */
  problem?: string;
}
