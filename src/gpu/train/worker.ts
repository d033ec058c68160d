// The trainer's dedicated worker in the browser: WebGPU device, ROSA scan pool, OPFS
// checkpoints and the TrainerEngine, exposed to the page through Comlink. Training here
// keeps the page's main thread free.

import { expose, type ProxyMarked, proxy } from 'comlink';
import { createBrowserRosaPool } from '../../rosa-worker/platform/browser.ts';
import { loadCorpusBrowser } from '../../tasks/corpus-browser.ts';
import { MemoryCheckpointStore } from '../checkpoint/store.ts';
import { OpfsCheckpointStore, opfsAvailable } from '../checkpoint/store-opfs.ts';
import type { GpuContext } from '../context.ts';
import { threadsUnavailable } from '../cpu/worker-threads.ts';
import type { RosaScanner } from '../model/backend.ts';
import { inlineScanner, poolScanner } from '../model/scanners.ts';
import { createBrowserGpuContext } from '../platform/browser.ts';
import type { EngineInfo } from './client.ts';
import { TrainerEngine } from './engine.ts';
import type { GeneratedToken, GenerationRequest, TrainerEvent } from './protocol.ts';

async function createEngine(): Promise<TrainerEngine> {
  let gpu: GpuContext | null = null;
  let gpuError: string | null = null;
  try {
    gpu = await createBrowserGpuContext();
  } catch (err) {
    gpuError = (err as Error).message;
  }
  let scanner: RosaScanner;
  try {
    scanner = poolScanner(createBrowserRosaPool());
  } catch {
    // No nested workers (or no SharedArrayBuffer and no transfer path): scan on this thread.
    scanner = inlineScanner();
  }
  const store = opfsAvailable() ? new OpfsCheckpointStore() : new MemoryCheckpointStore();
  // `current` is the engine's device, a new one after a loss.
  const info = (current: GpuContext | null): EngineInfo => ({
    adapter: current?.adapter ?? null,
    gpuError: current?.lost ? `The GPU device was lost: ${current.lost}` : gpuError,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    rosaWorkers: scanner.workers,
    rosaSharedMemory: scanner.sharedMemory,
    cpuThreadsUnavailable: threadsUnavailable(),
  });
  return new TrainerEngine({
    env: { gpu, scanner, loadCorpus: loadCorpusBrowser, store },
    info,
    createGpu: createBrowserGpuContext,
  });
}

const engine = createEngine();

/** The engine's methods, awaited through the engine's start-up, plus a callback-based subscribe. */
const api = {
  info: async () => (await engine).info(),
  start: async (...a: Parameters<TrainerEngine['start']>) => (await engine).start(...a),
  pause: async (id: string) => (await engine).pause(id),
  resume: async (id: string) => (await engine).resume(id),
  stop: async (id: string) => (await engine).stop(id),
  retrievalMap: async (...a: Parameters<TrainerEngine['retrievalMap']>) => (await engine).retrievalMap(...a),
  niahQuery: async (...a: Parameters<TrainerEngine['niahQuery']>) => (await engine).niahQuery(...a),
  niahGrid: async (...a: Parameters<TrainerEngine['niahGrid']>) => (await engine).niahGrid(...a),
  gradientCheck: async (...a: Parameters<TrainerEngine['gradientCheck']>) =>
    (await engine).gradientCheck(...a),
  /** Tokens go to the page's callback as they are sampled (Comlink frees its port once unreachable). */
  generate: async (request: GenerationRequest, onToken?: ((token: GeneratedToken) => void) & ProxyMarked) =>
    (await engine).generate(request, onToken ? (token) => void onToken(token) : undefined),
  cancelGeneration: async (id: string) => (await engine).cancelGeneration(id),
  attentionMap: async (...a: Parameters<TrainerEngine['attentionMap']>) => (await engine).attentionMap(...a),
  listCheckpoints: async () => (await engine).listCheckpoints(),
  saveCheckpoint: async (id: string) => (await engine).saveCheckpoint(id),
  loadCheckpoint: async (key: string) => (await engine).loadCheckpoint(key),
  deleteCheckpoint: async (key: string) => (await engine).deleteCheckpoint(key),
  exportCheckpoint: async (key: string) => (await engine).exportCheckpoint(key),
  importCheckpoint: async (...a: Parameters<TrainerEngine['importCheckpoint']>) =>
    (await engine).importCheckpoint(...a),
  recoverDevice: async () => (await engine).recoverDevice(),
  resumeAffected: async (runIds?: string[]) => (await engine).resumeAffected(runIds),
  /** Events go to the page's listener; the returned proxy unsubscribes. */
  subscribe: async (listener: ((event: TrainerEvent) => void) & ProxyMarked) => {
    const off = (await engine).subscribe((event) => {
      void listener(event);
    });
    return proxy(off);
  },
};

export type TrainerWorkerApi = typeof api;

expose(api);
