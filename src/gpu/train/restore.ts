// Finding a run's model again when the engine no longer holds it: after a page reload (a new
// trainer worker) or a lost GPU device, a run's latest stored checkpoint stands in for it.

import type { CheckpointStore } from '../checkpoint/store.ts';
import type { CheckpointInfo } from './protocol.ts';

/** A run's readable checkpoints, latest step first. */
export async function checkpointsOf(store: CheckpointStore, runId: string): Promise<CheckpointInfo[]> {
  const all = await store.list();
  return all.filter((c) => c.runId === runId && !c.problem).sort((a, b) => b.step - a.step);
}

/**
 * How a message names a run the engine knows only by id: the UI's ids are
 * "<experiment>/<variant>", and the experiment part means nothing to a reader.
 */
export function runLabel(runId: string): string {
  const slash = runId.lastIndexOf('/');
  return slash >= 0 && slash < runId.length - 1 ? runId.slice(slash + 1) : runId;
}

/** Why a run that is not in memory cannot be brought back. */
export function noModelMessage(runId: string, haveStore: boolean): string {
  const why = haveStore
    ? 'no checkpoint of it was saved'
    : 'checkpoints cannot be kept here, so none of it was saved';
  return (
    `The "${runLabel(runId)}" run's model is no longer in memory (it was trained before a reload or on a lost GPU device) ` +
    `and ${why}, so it cannot be restored. Train it again, with "checkpoint every" set to keep its weights.`
  );
}
