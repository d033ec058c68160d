// The page's side of the trainer worker: a TrainerClient whose calls travel over Comlink.
// A crashed worker (load failure, uncaught error) rejects every call with a clear message
// and is reported to subscribers as an error event for each run.

import { proxy, type Remote, wrap } from 'comlink';
import type { TrainerClient } from './client.ts';
import type { TrainerEvent } from './protocol.ts';
import type { TrainerWorkerApi } from './worker.ts';

export function createWorkerTrainerClient(): TrainerClient {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), {
    type: 'module',
    name: 'rosa-trainer',
  });
  const remote: Remote<TrainerWorkerApi> = wrap<TrainerWorkerApi>(worker);
  const listeners = new Set<(event: TrainerEvent) => void>();
  let crashed: string | null = null;
  const activeRuns = new Set<string>();

  worker.addEventListener('error', (event) => {
    event.preventDefault();
    crashed = `The training worker crashed (${event.message || 'uncaught error'}). Finished checkpoints and metrics are kept; reload the page to start a new worker.`;
    for (const runId of activeRuns) for (const l of listeners) l({ type: 'error', runId, message: crashed });
  });

  const guard = async <T>(call: () => Promise<T>): Promise<T> => {
    if (crashed) throw new Error(crashed);
    return call();
  };

  const forward = proxy((event: TrainerEvent) => {
    if (event.type === 'started') activeRuns.add(event.runId);
    if (event.type === 'status' && ['finished', 'stopped', 'failed'].includes(event.status))
      activeRuns.delete(event.runId);
    for (const l of listeners) l(event);
  });
  const subscribed = remote.subscribe(forward);

  return {
    info: () => guard(() => remote.info()),
    start: (spec) => guard(() => remote.start(spec)),
    pause: (id) => guard(() => remote.pause(id)),
    resume: (id) => guard(() => remote.resume(id)),
    stop: (id) => guard(() => remote.stop(id)),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    retrievalMap: (id, sample, layer) => guard(() => remote.retrievalMap(id, sample, layer)),
    niahQuery: (q) => guard(() => remote.niahQuery(q)),
    niahGrid: (id, lengths, depths, samples) => guard(() => remote.niahGrid(id, lengths, depths, samples)),
    gradientCheck: (request) => guard(() => remote.gradientCheck(request)),
    generate: (request, onToken) =>
      guard(() => remote.generate(request, onToken ? proxy(onToken) : undefined)),
    cancelGeneration: (id) => guard(() => remote.cancelGeneration(id)),
    attentionMap: (id, sample, layer) => guard(() => remote.attentionMap(id, sample, layer)),
    listCheckpoints: () => guard(() => remote.listCheckpoints()),
    saveCheckpoint: (id) => guard(() => remote.saveCheckpoint(id)),
    loadCheckpoint: (key) => guard(() => remote.loadCheckpoint(key)),
    deleteCheckpoint: (key) => guard(() => remote.deleteCheckpoint(key)),
    exportCheckpoint: (key) => guard(() => remote.exportCheckpoint(key)),
    importCheckpoint: (files) =>
      guard(async () => {
        await subscribed;
        return remote.importCheckpoint(files);
      }),
    recoverDevice: () => guard(() => remote.recoverDevice()),
    resumeAffected: (runIds) => guard(() => remote.resumeAffected(runIds)),
  };
}
