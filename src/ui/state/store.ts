// The playground's state: the engine connection, experiments, runs and their metrics.
// Engine events are queued as they arrive and applied once per animation frame, so a fast
// trainer never makes React render more than the screen refreshes. Runs and metrics are
// written to storage a little later (throttled, save-queue.ts), so a reload shows everything again.

import { createStore, type StoreApi } from 'zustand/vanilla';
import type { SizeLimits } from '../../gpu/model/config.ts';
import type { EngineInfo, TrainerClient } from '../../gpu/train/client.ts';
import type { RunSpec, TrainerEvent } from '../../gpu/train/protocol.ts';
import { buildExperiment, type ExperimentDraft, TASK_LABELS } from '../config/draft.ts';
import { resetClock } from './eta.ts';
import { MemoryStorage, type RunStorage } from './persistence.ts';
import { type ReceivedEvent, reduceEvents } from './reduce.ts';
import { SaveQueue } from './save-queue.ts';
import { emptySeries, type RunSeries, restoreSeries, truncateAfter } from './series.ts';
import { type Experiment, isActive, type RunRecord } from './types.ts';

export type TabId = 'curves' | 'retrieval' | 'niah' | 'generate' | 'checkpoints' | 'device';

export interface EngineState {
  status: 'connecting' | 'ready' | 'unavailable';
  info: EngineInfo | null;
  error: string | null;
}

export interface Notice {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

export interface StartResult {
  experimentId: string | null;
  started: string[];
  failed: Array<{ runId: string; message: string }>;
  /** Validation messages when nothing was started. */
  errors: string[];
}

export interface PlaygroundState {
  /** The engine, for queries that change no state here (retrievals, NIAH, checkpoints). */
  client: TrainerClient | null;
  hydrated: boolean;
  engine: EngineState;
  storageKind: string;
  storageError: string | null;
  experiments: Experiment[];
  runs: Record<string, RunRecord>;
  /** Run ids, oldest first. */
  runOrder: string[];
  /** Live series, mutated in place; `seriesVersion` changes whenever any of them does. */
  series: Record<string, RunSeries>;
  seriesVersion: number;
  /** Runs hidden from the charts. */
  hidden: Record<string, boolean>;
  tab: TabId;
  /** The user picked a tab (so hydration does not switch it). */
  tabChosen: boolean;
  notices: Notice[];

  init(): Promise<void>;
  startExperiment(draft: ExperimentDraft, limits?: SizeLimits): Promise<StartResult>;
  pause(runId: string): Promise<void>;
  resume(runId: string): Promise<void>;
  stop(runId: string): Promise<void>;
  /**
   * Loads a checkpoint in the engine as a paused run and lists it. When the run is already
   * listed (same id), its curves are cut back to the checkpoint's step (`step`, or the
   * run's last checkpoint when the keys match).
   */
  loadCheckpoint(key: string, step?: number): Promise<RunRecord | null>;
  /** After a lost GPU device: a new device, and every run it stopped resumes from its last checkpoint. */
  resumeAffected(): Promise<void>;
  /** Hides the lost-device banner (the runs stay failed). */
  dismissDeviceLoss(): void;
  deleteRun(runId: string): Promise<void>;
  deleteExperiment(experimentId: string): Promise<void>;
  clearAll(): Promise<void>;
  setTab(tab: TabId): void;
  toggleHidden(runId: string): void;
  notify(kind: Notice['kind'], text: string): void;
  dismiss(id: number): void;
  /** Applies queued events now (normally done once per animation frame). */
  flush(): void;
  /** Writes pending changes to storage now. */
  persistNow(): Promise<void>;
  dispose(): void;
}

export type PlaygroundStore = StoreApi<PlaygroundState>;

export interface PlaygroundDeps {
  /** The engine, or null with `clientError` saying why there is none. */
  client: TrainerClient | null;
  clientError?: string;
  storage?: RunStorage;
  now?: () => number;
  /** Runs `cb` before the next paint (requestAnimationFrame in the browser). */
  scheduleFrame?: (cb: () => void) => void;
  /** Delay of storage writes after a change. */
  persistDelayMs?: number;
}

const MAX_ORPHANS = 10_000;

function defaultScheduleFrame(cb: () => void): void {
  let ran = false;
  const once = () => {
    if (!ran) {
      ran = true;
      cb();
    }
  };
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(once);
  // Background tabs get no frames: apply events at least a few times a second anyway.
  setTimeout(once, 250);
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

/** Maximum storage-buffer sizes from an adapter's limits, when it has both. */
export function sizeLimitsOf(limits: Record<string, number> | undefined | null): SizeLimits | undefined {
  if (!limits) return undefined;
  const a = limits.maxStorageBufferBindingSize;
  const b = limits.maxBufferSize;
  if (typeof a !== 'number' || typeof b !== 'number') return undefined;
  return { maxStorageBufferBindingSize: a, maxBufferSize: b };
}

export function experimentSummary(spec: RunSpec): string {
  const t = spec.task;
  const m = spec.model;
  let task: string = TASK_LABELS[t.kind];
  if (t.kind === 'text') task = t.source === 'user' ? `text "${t.name ?? 'your text'}"` : 'Moby Dick';
  if (t.kind === 'mqar') task = `MQAR ${t.pairs} pairs`;
  if (t.kind === 'niah') task = `NIAH ${t.keyLength}-digit`;
  const { seed, repeats } = spec.train;
  const seeds = repeats > 1 ? `seeds ${seed}–${seed + repeats - 1}` : `seed ${seed}`;
  return `${task} · T ${t.seqLen} · ${m.layers}×${m.width} · W ${m.window} · ${spec.train.steps} steps · ${seeds}`;
}

export function createPlaygroundStore(deps: PlaygroundDeps): PlaygroundStore {
  const client = deps.client;
  const now = deps.now ?? (() => Date.now());
  const scheduleFrame = deps.scheduleFrame ?? defaultScheduleFrame;
  const persistDelay = deps.persistDelayMs ?? 1500;
  let storage: RunStorage = deps.storage ?? new MemoryStorage();

  let queue: ReceivedEvent[] = [];
  let orphans: ReceivedEvent[] = [];
  let frameScheduled = false;
  let unsubscribe: (() => void) | null = null;
  let noticeId = 0;

  const store = createStore<PlaygroundState>()((set, get) => {
    const saves = new SaveQueue({
      storage: () => storage,
      current: () => get(),
      onError: (err) => set({ storageError: `Saving runs failed: ${errorMessage(err)}` }),
      delayMs: persistDelay,
    });

    const applyEvents = (events: ReceivedEvent[]) => {
      if (events.length === 0) return;
      const state = get();
      const result = reduceEvents(state.runs, state.series, events, now());
      if (result.unknown.length > 0) {
        orphans.push(...result.unknown);
        if (orphans.length > MAX_ORPHANS) orphans = orphans.slice(-MAX_ORPHANS);
      }
      if (result.changed.size === 0) return;
      set({ runs: result.runs, seriesVersion: state.seriesVersion + 1 });
      saves.markDirty(result.changed, true);
    };

    const onEvent = (event: TrainerEvent) => {
      queue.push({ event, at: now() });
      if (!frameScheduled) {
        frameScheduled = true;
        scheduleFrame(() => {
          frameScheduled = false;
          get().flush();
        });
      }
    };

    const addRuns = (records: RunRecord[]) => {
      const state = get();
      const runs = { ...state.runs };
      const series = state.series;
      const order = [...state.runOrder];
      for (const r of records) {
        runs[r.id] = r;
        series[r.id] ??= emptySeries();
        if (!order.includes(r.id)) order.push(r.id);
      }
      set({ runs, runOrder: order, seriesVersion: state.seriesVersion + 1 });
      saves.markDirty(
        records.map((r) => r.id),
        true,
      );
      // Events that arrived before we knew the run.
      const ids = new Set(records.map((r) => r.id));
      const mine = orphans.filter((o) => ids.has(o.event.runId));
      if (mine.length > 0) {
        orphans = orphans.filter((o) => !ids.has(o.event.runId));
        applyEvents(mine);
      }
    };

    const patchRun = (runId: string, patch: Partial<RunRecord>) => {
      const run = get().runs[runId];
      if (!run) return;
      set({ runs: { ...get().runs, [runId]: { ...run, ...patch, updatedAt: now() } } });
      saves.markDirty([runId], false);
    };

    const requireClient = (what: string): TrainerClient => {
      if (!client) {
        throw new Error(
          `Cannot ${what}: the training engine is not available (${get().engine.error ?? 'unknown reason'})`,
        );
      }
      return client;
    };

    const control = async (runId: string, what: 'pause' | 'resume' | 'stop') => {
      try {
        const c = requireClient(what);
        await c[what](runId);
      } catch (err) {
        get().notify(
          'error',
          `Could not ${what} ${get().runs[runId]?.spec.name ?? runId}: ${errorMessage(err)}`,
        );
      }
    };

    return {
      client,
      hydrated: false,
      engine: client
        ? { status: 'connecting', info: null, error: null }
        : { status: 'unavailable', info: null, error: deps.clientError ?? 'no engine' },
      storageKind: storage.kind,
      storageError: null,
      experiments: [],
      runs: {},
      runOrder: [],
      series: {},
      seriesVersion: 0,
      hidden: {},
      tab: 'device',
      tabChosen: false,
      notices: [],

      async init() {
        if (client) unsubscribe = client.subscribe(onEvent);
        const hydrate = async () => {
          let stored: Awaited<ReturnType<RunStorage['loadAll']>>;
          try {
            stored = await storage.loadAll();
          } catch (err) {
            const message = errorMessage(err);
            storage = new MemoryStorage();
            set({
              storageKind: storage.kind,
              storageError: `Runs cannot be kept across reloads: ${message}`,
            });
            stored = { experiments: [], runs: [], series: {} };
          }
          const runs: Record<string, RunRecord> = {};
          const series: Record<string, RunSeries> = {};
          const interrupted: string[] = [];
          const sorted = [...stored.runs].sort((a, b) => a.createdAt - b.createdAt);
          for (const r of sorted) {
            if (!r || typeof r.id !== 'string' || !r.spec) continue;
            const record: RunRecord = { ...r, rate: resetClock(r.rate ?? {}) };
            if (isActive(r.status)) {
              record.status = 'interrupted';
              record.message = r.lastCheckpoint
                ? `The page was closed while this run was ${r.status}. Press Resume to continue from its checkpoint at step ${r.lastCheckpoint.step}.`
                : `The page was closed while this run was ${r.status}; it saved no checkpoint, so it cannot continue (set "checkpoint every" to keep one).`;
              interrupted.push(r.id);
            }
            runs[r.id] = record;
            series[r.id] = restoreSeries(stored.series[r.id]);
          }
          const state = get();
          // Anything added before hydration finished wins over the stored copy.
          const mergedRuns = { ...runs, ...state.runs };
          const mergedSeries = { ...series, ...state.series };
          const order = [...sorted.map((r) => r.id).filter((id) => runs[id]), ...state.runOrder];
          const experiments = [
            ...stored.experiments
              .filter((e) => e && typeof e.id === 'string')
              .sort((a, b) => a.createdAt - b.createdAt),
            ...state.experiments,
          ];
          const hasRuns = order.length > 0;
          set({
            hydrated: true,
            runs: mergedRuns,
            series: mergedSeries,
            runOrder: [...new Set(order)],
            experiments,
            seriesVersion: state.seriesVersion + 1,
            ...(hasRuns && !state.tabChosen ? { tab: 'curves' as TabId } : {}),
          });
          if (interrupted.length > 0) saves.markDirty(interrupted, false);
          if (orphans.length > 0) {
            const pending = orphans;
            orphans = [];
            applyEvents(pending);
          }
        };
        const connect = async () => {
          if (!client) return;
          try {
            const info = await client.info();
            set({ engine: { status: 'ready', info, error: null } });
          } catch (err) {
            set({ engine: { status: 'unavailable', info: null, error: errorMessage(err) } });
          }
        };
        await Promise.all([hydrate(), connect()]);
      },

      async startExperiment(draft, limits) {
        const state = get();
        const used = state.experiments.map((e) => Number(/^E(\d+)$/.exec(e.label)?.[1] ?? 0));
        const label = `E${Math.max(0, ...used) + 1}`;
        const experimentId = `exp-${now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
        const info = state.engine.info;
        const built = buildExperiment(draft, {
          experimentId,
          label,
          engine: {
            limits: limits ?? sizeLimitsOf(info?.adapter?.limits),
            webgpuUnavailable: info && !info.adapter ? (info.gpuError ?? 'no WebGPU adapter') : null,
          },
        });
        if (built.specs.length === 0) {
          return {
            experimentId: null,
            started: [],
            failed: [],
            errors: built.errors.map((e) => `${e.field}: ${e.message}`),
          };
        }
        let c: TrainerClient;
        try {
          c = requireClient('start runs');
        } catch (err) {
          return { experimentId: null, started: [], failed: [], errors: [errorMessage(err)] };
        }
        const t = now();
        const experiment: Experiment = {
          id: experimentId,
          label,
          createdAt: t,
          summary: experimentSummary(built.specs[0]),
          runIds: built.specs.map((s) => s.id),
        };
        const records: RunRecord[] = built.specs.map((spec) => ({
          id: spec.id,
          experimentId,
          spec,
          status: 'queued',
          step: 0,
          totalSteps: spec.train.steps,
          createdAt: t,
          updatedAt: t,
          rate: {},
        }));
        set({ experiments: [...get().experiments, experiment], tab: 'curves', tabChosen: true });
        void storage.putExperiment(experiment).catch(() => undefined);
        addRuns(records);
        const result: StartResult = { experimentId, started: [], failed: [], errors: [] };
        for (const spec of built.specs) {
          try {
            await c.start(spec);
            result.started.push(spec.id);
          } catch (err) {
            const message = errorMessage(err);
            result.failed.push({ runId: spec.id, message });
            patchRun(spec.id, { status: 'failed', message });
          }
        }
        return result;
      },

      pause: (runId) => control(runId, 'pause'),
      resume: (runId) => control(runId, 'resume'),
      stop: (runId) => control(runId, 'stop'),

      async loadCheckpoint(key, step) {
        try {
          const c = requireClient('load a checkpoint');
          const spec = await c.loadCheckpoint(key);
          const existing = get().runs[spec.id];
          const t = now();
          const at =
            step ?? (existing?.lastCheckpoint?.key === key ? existing.lastCheckpoint.step : undefined);
          if (existing && at !== undefined) {
            const s = get().series[spec.id];
            if (s) truncateAfter(s, at);
          }
          const record: RunRecord = existing
            ? {
                ...existing,
                status: 'paused',
                step: at ?? existing.step,
                rate: resetClock(existing.rate),
                message: `Loaded from its checkpoint${at !== undefined ? ` at step ${at}` : ''}; press Resume to continue training.`,
                updatedAt: t,
              }
            : {
                id: spec.id,
                experimentId: `ckpt-${key}`,
                spec,
                status: 'paused',
                step: step ?? 0,
                totalSteps: spec.train.steps,
                createdAt: t,
                updatedAt: t,
                rate: {},
                fromCheckpoint: key,
                message: `Loaded from checkpoint ${key}; press Resume to continue training.`,
              };
          if (!existing) {
            const experiment: Experiment = {
              id: record.experimentId,
              label: `C${get().experiments.filter((e) => e.id.startsWith('ckpt-')).length + 1}`,
              createdAt: t,
              summary: `from checkpoint · ${experimentSummary(spec)}`,
              runIds: [spec.id],
            };
            if (!get().experiments.some((e) => e.id === experiment.id)) {
              set({ experiments: [...get().experiments, experiment] });
              void storage.putExperiment(experiment).catch(() => undefined);
            }
          }
          addRuns([record]);
          return get().runs[spec.id];
        } catch (err) {
          get().notify('error', `Could not load checkpoint ${key}: ${errorMessage(err)}`);
          return null;
        }
      },

      async resumeAffected() {
        const lost = get().runOrder.filter((id) => get().runs[id]?.deviceLost);
        if (lost.length === 0) return;
        try {
          const c = requireClient('resume runs');
          const ids = lost.filter((id) => get().runs[id]?.deviceLost?.checkpointStep !== null);
          const result = await c.resumeAffected(ids);
          // The engine has a new device now: show its adapter.
          const info = await c.info().catch(() => get().engine.info);
          if (info) set({ engine: { status: 'ready', info, error: null } });
          for (const a of result.affected) {
            if (a.resumed) continue;
            const name = get().runs[a.runId]?.spec.name ?? a.runId;
            get().notify('error', `Could not resume ${name}: ${a.message ?? 'unknown reason'}`);
          }
          // Those without a checkpoint cannot come back: the banner has said so.
          for (const id of lost) if (!ids.includes(id)) patchRun(id, { deviceLost: undefined });
        } catch (err) {
          get().notify('error', `Could not recover the GPU device: ${errorMessage(err)}`);
        }
      },

      dismissDeviceLoss() {
        for (const id of get().runOrder)
          if (get().runs[id]?.deviceLost) patchRun(id, { deviceLost: undefined });
      },

      async deleteRun(runId) {
        const run = get().runs[runId];
        if (!run) return;
        if (isActive(run.status) && client) await client.stop(runId).catch(() => undefined);
        const { [runId]: _gone, ...runs } = get().runs;
        const { [runId]: _s, ...series } = get().series;
        const { [runId]: _h, ...hidden } = get().hidden;
        const experiments = get()
          .experiments.map((e) => ({ ...e, runIds: e.runIds.filter((id) => id !== runId) }))
          .filter((e) => e.runIds.length > 0);
        const removedExperiments = get().experiments.filter((e) => !experiments.some((x) => x.id === e.id));
        saves.forget(runId);
        set({
          runs,
          series,
          hidden,
          experiments,
          runOrder: get().runOrder.filter((id) => id !== runId),
          seriesVersion: get().seriesVersion + 1,
        });
        await saves.serial(async () => {
          await storage.deleteRun(runId);
          for (const e of experiments) await storage.putExperiment(e);
          for (const e of removedExperiments) await storage.deleteExperiment(e.id);
        });
      },

      async deleteExperiment(experimentId) {
        const e = get().experiments.find((x) => x.id === experimentId);
        if (!e) return;
        for (const id of e.runIds) await get().deleteRun(id);
        set({ experiments: get().experiments.filter((x) => x.id !== experimentId) });
        await saves.serial(() => storage.deleteExperiment(experimentId));
      },

      async clearAll() {
        for (const id of get().runOrder) {
          const run = get().runs[id];
          if (run && isActive(run.status) && client) await client.stop(id).catch(() => undefined);
        }
        saves.forget();
        set({
          runs: {},
          series: {},
          runOrder: [],
          experiments: [],
          hidden: {},
          seriesVersion: get().seriesVersion + 1,
        });
        await saves.serial(() => storage.clear());
      },

      setTab(tab) {
        set({ tab, tabChosen: true });
      },

      toggleHidden(runId) {
        const hidden = { ...get().hidden };
        if (hidden[runId]) delete hidden[runId];
        else hidden[runId] = true;
        set({ hidden });
      },

      notify(kind, text) {
        noticeId++;
        set({ notices: [...get().notices.slice(-4), { id: noticeId, kind, text }] });
      },

      dismiss(id) {
        set({ notices: get().notices.filter((n) => n.id !== id) });
      },

      flush() {
        const events = queue;
        queue = [];
        applyEvents(events);
      },

      persistNow() {
        return saves.saveNow();
      },

      dispose() {
        saves.dispose();
        unsubscribe?.();
        unsubscribe = null;
      },
    };
  });
  return store;
}
