// Finding a run's model again when the engine no longer holds it: after a page reload (a new
// trainer worker) or a lost GPU device, a run's latest stored checkpoint stands in for it.

import { type CheckpointContents, decodeCheckpoint } from '../checkpoint/checkpoint.ts';
import type { CheckpointStore } from '../checkpoint/store.ts';
import type { AnyRun } from './factory.ts';
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

/**
 * The run rebuilt by `build` from its latest readable checkpoint, marked as resumed from it; an
 * unreadable one falls back to the one before. Null when none was saved; throws, naming the
 * latest, when none could be read. Shared by the engine (reloads, lost devices) and the CLI.
 */
export async function runFromLatestCheckpoint(
  store: CheckpointStore,
  runId: string,
  build: (contents: CheckpointContents) => Promise<AnyRun>,
): Promise<AnyRun | null> {
  const saved = await checkpointsOf(store, runId);
  if (saved.length === 0) return null;
  let firstError: unknown = null;
  for (const info of saved) {
    try {
      const files = await store.get(info.key);
      const contents = decodeCheckpoint(files.weights, files.manifest, {
        weights: `${info.key}.safetensors`,
        manifest: `${info.key}.json`,
      });
      const run = await build(contents);
      run.resumedFrom(info);
      return run;
    } catch (err) {
      firstError ??= err;
    }
  }
  const why = firstError instanceof Error ? firstError.message : String(firstError);
  throw new Error(
    `The "${runLabel(runId)}" run's model could not be restored from its checkpoint "${saved[0].key}": ${why}`,
  );
}
