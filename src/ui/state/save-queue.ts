// When the store's changes reach storage (persistence.ts): runs marked dirty are written a
// little later, together (throttled, so a fast trainer costs one write per run per delay),
// and every storage operation runs after the previous one, in the order it was asked for.

import type { RunStorage } from './persistence.ts';
import { type RunSeries, snapshotSeries } from './series.ts';
import type { RunRecord } from './types.ts';

export interface SaveQueueDeps {
  /** The storage to write to now (the store may fall back to memory while hydrating). */
  storage: () => RunStorage;
  /** The runs and series as they are when the writes happen. */
  current: () => { runs: Record<string, RunRecord>; series: Record<string, RunSeries> };
  /** A storage operation failed; later ones still run. */
  onError: (err: unknown) => void;
  /** Delay of the writes after the first change. */
  delayMs: number;
}

export class SaveQueue {
  private readonly deps: SaveQueueDeps;
  private readonly dirtyRuns = new Set<string>();
  private readonly dirtySeries = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private chain: Promise<void> = Promise.resolve();
  private disposed = false;

  constructor(deps: SaveQueueDeps) {
    this.deps = deps;
  }

  /** Runs to write (with their series when `withSeries`) at the next save. */
  markDirty(ids: Iterable<string>, withSeries: boolean): void {
    for (const id of ids) {
      this.dirtyRuns.add(id);
      if (withSeries) this.dirtySeries.add(id);
    }
    if (this.timer !== null || this.disposed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.saveNow();
    }, this.deps.delayMs);
  }

  /** Drops pending writes of a run (it is being deleted), or of every run. */
  forget(runId?: string): void {
    if (runId === undefined) {
      this.dirtyRuns.clear();
      this.dirtySeries.clear();
    } else {
      this.dirtyRuns.delete(runId);
      this.dirtySeries.delete(runId);
    }
  }

  /** Runs `op` after every storage operation asked for before it. */
  serial(op: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(op).catch(this.deps.onError);
    return this.chain;
  }

  /** Writes pending changes now; also waits for a write already under way. */
  saveNow(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    return this.serial(() => this.writeDirty());
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private async writeDirty(): Promise<void> {
    const runs = [...this.dirtyRuns];
    const withSeries = [...this.dirtySeries];
    this.forget();
    const state = this.deps.current();
    const storage = this.deps.storage();
    try {
      for (const id of runs) {
        const r = state.runs[id];
        if (r) await storage.putRun(r);
      }
      for (const id of withSeries) {
        const s = state.series[id];
        if (s) await storage.putSeries(id, snapshotSeries(s));
      }
    } catch (err) {
      this.deps.onError(err);
    }
  }
}
