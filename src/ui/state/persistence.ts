// Where runs, experiments and their metrics survive a reload: IndexedDB in the browser
// (a small promise wrapper below), or memory when IndexedDB is missing (tests, private modes).
// The engine keeps checkpoints itself; this only stores what the UI received.

import type { RunSeries } from './series.ts';
import type { Experiment, RunRecord } from './types.ts';

export interface StoredState {
  experiments: Experiment[];
  runs: RunRecord[];
  series: Record<string, unknown>;
}

export interface RunStorage {
  /** Human-readable name for the device panel ("IndexedDB", "memory"). */
  readonly kind: string;
  loadAll(): Promise<StoredState>;
  putExperiment(experiment: Experiment): Promise<void>;
  putRun(run: RunRecord): Promise<void>;
  putSeries(runId: string, series: RunSeries): Promise<void>;
  deleteRun(runId: string): Promise<void>;
  deleteExperiment(experimentId: string): Promise<void>;
  clear(): Promise<void>;
}

export class MemoryStorage implements RunStorage {
  readonly kind = 'memory';
  private experiments = new Map<string, Experiment>();
  private runs = new Map<string, RunRecord>();
  private series = new Map<string, RunSeries>();

  async loadAll(): Promise<StoredState> {
    return structuredClone({
      experiments: [...this.experiments.values()],
      runs: [...this.runs.values()],
      series: Object.fromEntries(this.series),
    });
  }
  async putExperiment(e: Experiment): Promise<void> {
    this.experiments.set(e.id, structuredClone(e));
  }
  async putRun(r: RunRecord): Promise<void> {
    this.runs.set(r.id, structuredClone(r));
  }
  async putSeries(id: string, s: RunSeries): Promise<void> {
    this.series.set(id, structuredClone(s));
  }
  async deleteRun(id: string): Promise<void> {
    this.runs.delete(id);
    this.series.delete(id);
  }
  async deleteExperiment(id: string): Promise<void> {
    this.experiments.delete(id);
  }
  async clear(): Promise<void> {
    this.experiments.clear();
    this.runs.clear();
    this.series.clear();
  }
}

const DB_NAME = 'rosa-playground';
const DB_VERSION = 1;
const EXPERIMENTS = 'experiments';
const RUNS = 'runs';
const SERIES = 'series';

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

export class IndexedDbStorage implements RunStorage {
  readonly kind = 'IndexedDB';
  private db: Promise<IDBDatabase> | null = null;

  constructor(
    private readonly factory: IDBFactory = globalThis.indexedDB,
    private readonly name = DB_NAME,
  ) {}

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise((resolve, reject) => {
      const req = this.factory.open(this.name, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains(EXPERIMENTS)) db.createObjectStore(EXPERIMENTS, { keyPath: 'id' });
        if (!db.objectStoreNames.contains(RUNS)) db.createObjectStore(RUNS, { keyPath: 'id' });
        if (!db.objectStoreNames.contains(SERIES)) db.createObjectStore(SERIES);
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error('IndexedDB could not be opened'));
      req.onblocked = () => reject(new Error('IndexedDB is blocked by another tab of this page'));
    });
    return this.db;
  }

  private async write(stores: string[], fn: (tx: IDBTransaction) => void): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(stores, 'readwrite');
    const finished = done(tx);
    fn(tx);
    await finished;
  }

  async loadAll(): Promise<StoredState> {
    const db = await this.open();
    const tx = db.transaction([EXPERIMENTS, RUNS, SERIES], 'readonly');
    const finished = done(tx);
    const experiments = request(tx.objectStore(EXPERIMENTS).getAll() as IDBRequest<Experiment[]>);
    const runs = request(tx.objectStore(RUNS).getAll() as IDBRequest<RunRecord[]>);
    const seriesStore = tx.objectStore(SERIES);
    const keys = request(seriesStore.getAllKeys());
    const values = request(seriesStore.getAll());
    const [e, r, k, v] = await Promise.all([experiments, runs, keys, values]);
    await finished;
    const series: Record<string, unknown> = {};
    k.forEach((key, i) => {
      series[String(key)] = v[i];
    });
    return { experiments: e, runs: r, series };
  }

  putExperiment(e: Experiment): Promise<void> {
    return this.write([EXPERIMENTS], (tx) => tx.objectStore(EXPERIMENTS).put(e));
  }
  putRun(r: RunRecord): Promise<void> {
    return this.write([RUNS], (tx) => tx.objectStore(RUNS).put(r));
  }
  putSeries(id: string, s: RunSeries): Promise<void> {
    return this.write([SERIES], (tx) => tx.objectStore(SERIES).put(s, id));
  }
  deleteRun(id: string): Promise<void> {
    return this.write([RUNS, SERIES], (tx) => {
      tx.objectStore(RUNS).delete(id);
      tx.objectStore(SERIES).delete(id);
    });
  }
  deleteExperiment(id: string): Promise<void> {
    return this.write([EXPERIMENTS], (tx) => tx.objectStore(EXPERIMENTS).delete(id));
  }
  clear(): Promise<void> {
    return this.write([EXPERIMENTS, RUNS, SERIES], (tx) => {
      tx.objectStore(EXPERIMENTS).clear();
      tx.objectStore(RUNS).clear();
      tx.objectStore(SERIES).clear();
    });
  }
}

/** IndexedDB when the browser has it, memory otherwise. */
export function defaultStorage(): RunStorage {
  return typeof globalThis.indexedDB === 'object' && globalThis.indexedDB !== null
    ? new IndexedDbStorage()
    : new MemoryStorage();
}
