// What the UI can ask of the training engine. In the browser it is implemented by a
// Comlink proxy to the trainer worker; tests can implement it in-process.

import type { AdapterSummary } from '../context.ts';
import type { GradientCheckRequest, GradientCheckResult } from './gradient-check.ts';
import type {
  AttentionMap,
  CheckpointInfo,
  DeviceRecovery,
  GeneratedToken,
  Generation,
  GenerationRequest,
  NiahAnswer,
  NiahGridCell,
  NiahQuery,
  RetrievalMap,
  RunSpec,
  TrainerEvent,
} from './protocol.ts';

export interface EngineInfo {
  adapter: AdapterSummary | null;
  /** Why there is no adapter (no WebGPU, blocked, …); null when there is one. */
  gpuError: string | null;
  crossOriginIsolated: boolean;
  /** Number of ROSA scan workers and whether they share memory (SharedArrayBuffer) or copy. */
  rosaWorkers: number;
  rosaSharedMemory: boolean;
  /** Why the CPU backend runs one thread whatever cpu.threads says; null where threads can run. */
  cpuThreadsUnavailable?: string | null;
}

export interface CheckpointFiles {
  /** safetensors bytes of the weights (and optimizer moments). */
  weights: Uint8Array;
  /** JSON text: config, step, optimizer hyper-parameters, metrics. */
  manifest: string;
}

export interface TrainerClient {
  info(): Promise<EngineInfo>;
  /** Validates and starts a run; rejects with a message naming the invalid fields. */
  start(spec: RunSpec): Promise<void>;
  pause(runId: string): Promise<void>;
  resume(runId: string): Promise<void>;
  stop(runId: string): Promise<void>;
  /** Receives every TrainerEvent of every run; returns the unsubscribe function. */
  subscribe(listener: (event: TrainerEvent) => void): () => void;

  /** ROSA retrievals of a run's model on validation sample `sample` at `layer`. */
  retrievalMap(runId: string, sample: number, layer: number): Promise<RetrievalMap>;
  niahQuery(query: NiahQuery): Promise<NiahAnswer>;
  /** Exact-match accuracy over (context length × needle depth), `samples` needles per cell. */
  niahGrid(runId: string, lengths: number[], depths: number[], samples: number): Promise<NiahGridCell[]>;
  /** Bit-flip check of the counterfactual surrogate on a run's current weights (gradient-check.ts). */
  gradientCheck(request: GradientCheckRequest): Promise<GradientCheckResult>;

  // Text generation and attention maps.
  /** Samples text from a text-task run; each token goes to `onToken` as it is sampled. */
  generate(request: GenerationRequest, onToken?: (token: GeneratedToken) => void): Promise<Generation>;
  /**
   * Stops the run's generations in progress after the token being sampled now: each resolves
   * with the text sampled so far (`stopped: true`). Nothing happens when none is in progress.
   */
  cancelGeneration(runId: string): Promise<void>;
  /** Softmax probabilities of each attention head of a layer on validation sample `sample`. */
  attentionMap(runId: string, sample: number, layer: number): Promise<AttentionMap>;

  listCheckpoints(): Promise<CheckpointInfo[]>;
  saveCheckpoint(runId: string): Promise<CheckpointInfo>;
  /** Loads a checkpoint as a new, paused run that can be resumed, queried and inspected. */
  loadCheckpoint(key: string): Promise<RunSpec>;
  deleteCheckpoint(key: string): Promise<void>;
  exportCheckpoint(key: string): Promise<CheckpointFiles>;
  /** Validates uploaded files; rejects with a clear message for malformed or mismatched ones. */
  importCheckpoint(files: CheckpointFiles): Promise<CheckpointInfo>;

  // After a lost GPU device (a 'device-lost' event per run it stopped):
  /** Makes a new device if the current one was lost; lists the runs the loss stopped. */
  recoverDevice(): Promise<DeviceRecovery>;
  /** A new device, then those runs (default: every one the engine knows) resume from their latest checkpoints. */
  resumeAffected(runIds?: string[]): Promise<DeviceRecovery>;
}
