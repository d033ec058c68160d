// The typed interface between the trainer (a dedicated worker in the browser, the
// experiment CLI in Node) and whoever drives it (the UI). Everything here is plain,
// structured-cloneable data.

import type { BackendKind } from '../../config/schema.ts';
import type { FieldError } from '../../config/validate.ts';

export type {
  BackendKind,
  RunSpec,
  TaskSpec,
  TrainConfig,
  TrainingProtocol,
} from '../../config/schema.ts';

/**
 * Wall-clock split of one training step, in milliseconds. On WebGPU the step waits for the GPU
 * once, at its end (run.ts), so the split is coarse: forward is the time to record it (plus
 * the GPU time before each ROSA scan), backward everything the GPU still had to do after that
 * (forward tail, backward and the optimizer), optimizer only the time to record the update.
 */
export interface StepTiming {
  total: number;
  /** Forward work, excluding waits for the scan (on WebGPU mostly recording, see above). */
  forward: number;
  /** Time the ROSA workers spent scanning (sum over layers). */
  scan: number;
  /** Time the forward pass stood still waiting for scan results. */
  waiting: number;
  /** Scan time after the attention was submitted, an upper bound on the overlap (sum over layers). */
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
  /** Text repeat probe: mean loss on the targets only long context can predict (perplexity = e^loss). */
  longContextLoss?: number;
  /** NIAH exact-match accuracy with the needle `distance` tokens before the query. */
  niahAtDistance?: { distance: number; accuracy: number };
  /**
   * NIAH with ROSA: per ROSA layer, the share of routes whose retrieval at the first answer
   * position lands on the needle's key (the retrieval that has to be learnt), at the same distance.
   */
  needleHits?: Array<{ layer: number; share: number }>;
}

export type RunStatus = 'queued' | 'running' | 'paused' | 'stopped' | 'finished' | 'failed';

export type TrainerEvent =
  | {
      type: 'started';
      runId: string;
      totalSteps: number;
      parameters: number;
      gpuBytes: number;
      backend: BackendKind;
    }
  | { type: 'step'; runId: string; metrics: StepMetrics }
  | { type: 'eval'; runId: string; metrics: EvalMetrics }
  | { type: 'checkpoint'; runId: string; step: number; key: string }
  | { type: 'status'; runId: string; status: RunStatus; step: number; message?: string }
  | { type: 'error'; runId: string; message: string; fields?: FieldError[] }
  /** The GPU device under this run was lost; engine.resumeAffected() brings it back (see DeviceRecovery). */
  | { type: 'device-lost'; runId: string; reason: string; checkpointStep: number | null };

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
  /** Position of the needle's first key digit (needlePos + 1 with the ⟨K⟩ marker; later after a sentence in base tokens). */
  keyPos?: number;
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

/** A run that was on a lost GPU device, and whether it can continue from a checkpoint. */
export interface AffectedRun {
  runId: string;
  /** Its last stored checkpoint's step; null when none was saved (it cannot resume). */
  checkpointStep: number | null;
  /** After resumeAffected(): true once it trains again; otherwise why it could not. */
  resumed?: boolean;
  message?: string;
}

/** What engine.recoverDevice() / resumeAffected() did. */
export interface DeviceRecovery {
  /** The new device's adapter (null: no WebGPU here); the lost device's reason, if one was lost. */
  adapter: string | null;
  lostReason: string | null;
  affected: AffectedRun[];
}

// --- Text generation and attention maps (the Generate tab, the attention view) ---

/** Sampling text from a text-task run, continuing `prompt`. */
export interface GenerationRequest {
  runId: string;
  /** Characters of the task's vocabulary; the model sees the last seqLen tokens of prompt + text so far. */
  prompt: string;
  /** Tokens to sample (1 … generationLimit(seqLen)). */
  length: number;
  /** 0: greedy (argmax); otherwise logits / temperature are sampled (0 … 10). */
  temperature: number;
  /** Seed of the sampler: the same request gives the same text. */
  seed: number;
}

/** One sampled token, streamed as soon as it is known. */
export interface GeneratedToken {
  /** 0 for the first sampled token. */
  index: number;
  id: number;
  text: string;
  /** Its probability under softmax(logits / temperature), or under softmax(logits) when greedy. */
  probability: number;
}

export interface Generation {
  runId: string;
  prompt: string;
  /** The sampled continuation (the prompt not included). */
  text: string;
  tokens: GeneratedToken[];
  /** Tokens of context the model sees (its seqLen); older ones slide out. */
  context: number;
  /** True when cancelGeneration ended it before `length` tokens: `tokens` are the ones sampled by then. */
  stopped: boolean;
}

/** What each attention head of a layer attends to, for one validation sample. */
export interface AttentionMap {
  runId: string;
  layer: number;
  T: number;
  /** Display text of each input token. */
  tokens: string[];
  heads: number;
  /** probs[(h·T + t)·T + u]: probability that query t of head h gives key u (0 where it cannot see u). */
  probs: Float32Array;
  /** Keys the attention of this layer can see from t: t−window+1 … t (window ≥ T: all). */
  window: number;
  attention: 'global' | 'window' | 'lrsa';
}
