// What the UI remembers about experiments and runs (persisted in IndexedDB).

import type { FieldError } from '../../gpu/model/config.ts';
import type { BackendKind, RunSpec, RunStatus, StepTiming } from '../../gpu/train/protocol.ts';
import type { RateState } from './eta.ts';

/** 'interrupted': the page was reloaded (or the engine went away) while the run was active. */
export type RunState = RunStatus | 'interrupted';

export const ACTIVE_STATES: RunState[] = ['queued', 'running', 'paused'];

export interface RunRecord {
  id: string;
  experimentId: string;
  spec: RunSpec;
  status: RunState;
  /** Last status or error message from the engine. */
  message?: string;
  fields?: FieldError[];
  /** Steps done (the engine's StepMetrics.step counts finished steps: 1 after the first). */
  step: number;
  totalSteps: number;
  parameters?: number;
  gpuBytes?: number;
  backend?: BackendKind;
  createdAt: number;
  updatedAt: number;
  lastCheckpoint?: { step: number; key: string };
  /** Smoothed step-time split of recent steps. */
  timing?: StepTiming;
  /** Smoothed training throughput. */
  tokensPerSecond?: number;
  rate: RateState;
  /** Set on runs created from a checkpoint. */
  fromCheckpoint?: string;
  /** Set when the GPU device under this run was lost, until it runs again (RecoveryBanner). */
  deviceLost?: { reason: string; checkpointStep: number | null };
}

export interface Experiment {
  id: string;
  /** Short label used in legends ("E3"). */
  label: string;
  createdAt: number;
  /** One line: task and shape. */
  summary: string;
  runIds: string[];
}

export function isActive(status: RunState): boolean {
  return ACTIVE_STATES.includes(status);
}
