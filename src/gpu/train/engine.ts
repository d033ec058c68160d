// The training engine behind the TrainerClient interface: it owns the runs, interleaves
// their steps (one step of each running run in turn, so runs progress side by side on one
// GPU and one scan pool), forwards their events, and manages checkpoints. It runs in the
// browser's trainer worker and, for tests and scripts, in-process in Node.

import { CheckpointError, decodeCheckpoint, encodeCheckpoint } from '../checkpoint/checkpoint.ts';
import { infoFromFiles } from '../checkpoint/store.ts';
import type { CheckpointFiles, EngineInfo, TrainerClient } from './client.ts';
import { type AnyRun, ConfigError, createRun, type EngineEnv } from './factory.ts';
import { checkRunGradient, type GradientCheckRequest, type GradientCheckResult } from './gradient-check.ts';
import type {
  AttentionMap,
  CheckpointInfo,
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
import { RunQueue } from './run-queue.ts';

export interface EngineOptions {
  env: EngineEnv;
  info: () => EngineInfo;
}

export class TrainerEngine implements TrainerClient {
  private readonly env: EngineEnv;
  private readonly infoSource: () => EngineInfo;
  private readonly runs = new Map<string, AnyRun>();
  /**
   * Steps, queries, saves and disposals, one at a time (see run-queue.ts). One queue for all
   * runs, not one per run: runs share the ROSA scanner (and its input buffers) and the GPU.
   */
  private readonly modelWork = new RunQueue();
  private readonly listeners = new Set<(event: TrainerEvent) => void>();
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(options: EngineOptions) {
    this.env = options.env;
    this.infoSource = options.info;
  }

  private emit = (event: TrainerEvent): void => {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A broken listener must not stop training.
      }
    }
  };

  subscribe(listener: (event: TrainerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async info(): Promise<EngineInfo> {
    return this.infoSource();
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.modelWork.exclusive(work);
  }

  /** Frees a run's model once whatever it is doing now has finished. */
  private retire(run: AnyRun | undefined): Promise<void> {
    if (!run) return Promise.resolve();
    return this.exclusive(async () => run.model.dispose());
  }

  private run(runId: string): AnyRun {
    const run = this.runs.get(runId);
    if (!run)
      throw new Error(
        `no run "${runId}" in this session (it may have been trained before a reload: load its checkpoint)`,
      );
    return run;
  }

  async start(spec: RunSpec): Promise<void> {
    const existing = this.runs.get(spec.id);
    if (existing?.active) throw new Error(`a run with id "${spec.id}" is already active`);
    await this.retire(existing);
    let run: AnyRun;
    try {
      run = await createRun(spec, this.env, this.emit, await this.startingWeights(spec));
    } catch (err) {
      const fields = err instanceof ConfigError ? err.fields : undefined;
      this.emit({ type: 'error', runId: spec.id, message: (err as Error).message, fields });
      throw err;
    }
    this.runs.set(spec.id, run);
    if (spec.evalOnly) {
      // Another run's weights under this variant, evaluated once, never trained.
      run.setStatus('running');
      await run.evaluate();
      run.setStatus('finished');
      return;
    }
    run.setStatus('queued');
    this.kick();
  }

  /** The base weights a run starts from (`spec.from`, a stored checkpoint), if any. */
  private async startingWeights(
    spec: RunSpec,
  ): Promise<{ transplant: Map<string, Float32Array> } | undefined> {
    if (!spec.from) {
      if (spec.evalOnly) {
        throw new ConfigError([
          { field: 'evalOnly', message: 'needs "from": only trained weights can be evaluated' },
        ]);
      }
      return undefined;
    }
    const files = await this.store().get(spec.from);
    const contents = decodeCheckpoint(files.weights, files.manifest, {
      weights: `${spec.from}.safetensors`,
      manifest: `${spec.from}.json`,
    });
    return { transplant: contents.parameters };
  }

  async pause(runId: string): Promise<void> {
    const run = this.run(runId);
    run.pause();
    if (run.isPaused) run.setStatus('paused');
  }

  async resume(runId: string): Promise<void> {
    const run = this.run(runId);
    run.resume();
    if (run.active) {
      run.setStatus('running');
      this.kick();
    }
  }

  async stop(runId: string): Promise<void> {
    const run = this.run(runId);
    run.stop();
    this.kick();
  }

  /** Starts (or wakes) the scheduling loop. */
  private kick(): void {
    if (this.wake) {
      this.wake();
      this.wake = null;
    }
    this.loop ??= this.schedule().finally(() => {
      this.loop = null;
    });
  }

  private async schedule(): Promise<void> {
    while (true) {
      const ready = [...this.runs.values()].filter(
        (r) => !r.isPaused && (r.active || r.status === 'running' || r.status === 'queued'),
      );
      if (ready.length === 0) return;
      for (const run of ready) {
        if (run.isPaused) continue;
        // Queries asked meanwhile were queued first and run now, between steps.
        await this.exclusive(() => run.advance());
        // Give messages (pause, stop, queries) a turn between steps.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    }
  }

  /** Resolves once no run is training (tests, the CLI). */
  async idle(): Promise<void> {
    while (this.loop) await this.loop;
  }

  async retrievalMap(runId: string, sample: number, layer: number): Promise<RetrievalMap> {
    const run = this.run(runId);
    return this.exclusive(() => run.retrievalMap(sample, layer));
  }

  async niahQuery(query: NiahQuery): Promise<NiahAnswer> {
    const run = this.run(query.runId);
    return this.exclusive(() => run.niahQuery(query));
  }

  async niahGrid(
    runId: string,
    lengths: number[],
    depths: number[],
    samples: number,
  ): Promise<NiahGridCell[]> {
    const run = this.run(runId);
    return this.exclusive(() => run.niahGrid(lengths, depths, samples));
  }

  // --- Text generation and attention maps ---

  /**
   * Samples `request.length` tokens, handing each to `onToken` as soon as it is known. Each
   * token is its own job in the model queue, so training steps (and other queries) run between
   * tokens rather than waiting for the whole text.
   */
  async generate(request: GenerationRequest, onToken?: (token: GeneratedToken) => void): Promise<Generation> {
    const run = this.run(request.runId);
    const session = run.generation(request);
    while (!session.done) {
      // A macrotask turn first, as the scheduling loop takes between steps: the next step is
      // then queued before the next token, however fast a token was.
      if (session.tokens.length > 0) await new Promise((resolve) => setTimeout(resolve, 0));
      const token = await this.exclusive(() => session.step());
      try {
        onToken?.(token);
      } catch {
        // A listener that failed (a closed page) must not stop the queue.
      }
    }
    return session.result();
  }

  async attentionMap(runId: string, sample: number, layer: number): Promise<AttentionMap> {
    const run = this.run(runId);
    return this.exclusive(() => run.attentionMap(sample, layer));
  }

  async gradientCheck(request: GradientCheckRequest): Promise<GradientCheckResult> {
    return checkRunGradient(this.run(request.runId), request);
  }

  private store() {
    if (!this.env.store) throw new Error('checkpoints are not available here (no storage)');
    return this.env.store;
  }

  async listCheckpoints(): Promise<CheckpointInfo[]> {
    return this.store().list();
  }

  async saveCheckpoint(runId: string): Promise<CheckpointInfo> {
    this.store();
    const run = this.run(runId);
    return this.exclusive(() => run.saveCheckpoint());
  }

  async loadCheckpoint(key: string): Promise<RunSpec> {
    const files = await this.store().get(key);
    const contents = decodeCheckpoint(files.weights, files.manifest, {
      weights: `${key}.safetensors`,
      manifest: `${key}.json`,
    });
    const existing = this.runs.get(contents.manifest.spec.id);
    if (existing?.active && !existing.isPaused) {
      throw new Error(
        `run "${contents.manifest.spec.id}" is training; stop it before loading one of its checkpoints`,
      );
    }
    await this.retire(existing);
    const run = await createRun(contents.manifest.spec, this.env, this.emit, { resume: contents });
    run.resumedFrom(infoFromFiles(key, files));
    this.runs.set(run.spec.id, run);
    run.markPaused();
    return run.spec;
  }

  async deleteCheckpoint(key: string): Promise<void> {
    await this.store().delete(key);
  }

  async exportCheckpoint(key: string): Promise<CheckpointFiles> {
    return this.store().get(key);
  }

  async importCheckpoint(files: CheckpointFiles): Promise<CheckpointInfo> {
    // Decoding validates both files and their match before anything is stored.
    const contents = decodeCheckpoint(files.weights, files.manifest, {
      weights: 'uploaded .safetensors',
      manifest: 'uploaded .json',
    });
    if (contents.manifest.corpus) {
      // A manifest copied out of a store's folder: its text is not in it.
      throw new CheckpointError(
        `uploaded .json refers to the corpus "${contents.manifest.corpus.name}" instead of holding it: upload the files the Download button gives`,
      );
    }
    const normalized = encodeCheckpoint(contents);
    const key = `${contents.manifest.spec.id}-step${contents.manifest.step}`.replace(/[^A-Za-z0-9_.-]/g, '_');
    infoFromFiles(key, normalized);
    return this.store().put(key, normalized);
  }
}
