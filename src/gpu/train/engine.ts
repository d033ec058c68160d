// The training engine behind the TrainerClient interface: it owns the runs, interleaves
// their steps (one step of each running run in turn, so runs progress side by side on one
// GPU and one scan pool), forwards their events, and manages checkpoints. It runs in the
// browser's trainer worker and, for tests and scripts, in-process in Node.

import { type BaseShape, hfBaseSettings } from '../../interop/hf-base.ts';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint } from '../checkpoint/checkpoint.ts';
import { infoFromFiles } from '../checkpoint/store.ts';
import type { GpuContext } from '../context.ts';
import { GpuBackend } from '../model/gpu-backend.ts';
import type { CheckpointFiles, EngineInfo, TrainerClient } from './client.ts';
import { type AnyRun, ConfigError, createRun, type EngineEnv } from './factory.ts';
import { checkRunGradient, type GradientCheckRequest, type GradientCheckResult } from './gradient-check.ts';
import type {
  AffectedRun,
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
import { checkpointsOf, noModelMessage, runFromLatestCheckpoint, runLabel } from './restore.ts';
import { RunQueue } from './run-queue.ts';

export interface EngineOptions {
  env: EngineEnv;
  /** What info() reports, given the engine's current device (it changes after a device loss). */
  info: (gpu: GpuContext | null) => EngineInfo;
  /** Makes a new device (new adapter) when the current one is lost; without it a loss is final. */
  createGpu?: () => Promise<GpuContext>;
}

export class TrainerEngine implements TrainerClient {
  /** A copy of the options' env: its gpu is replaced when the device is lost. */
  private readonly env: EngineEnv;
  private readonly infoSource: (gpu: GpuContext | null) => EngineInfo;
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
    this.env = { ...options.env };
    this.infoSource = options.info;
    this.createGpu = options.createGpu;
    this.watchDevice(this.env.gpu);
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
    return this.infoSource(this.env.gpu);
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.modelWork.exclusive(work);
  }

  /** Frees a run's model once whatever it is doing now has finished. */
  private retire(run: AnyRun | undefined): Promise<void> {
    if (!run) return Promise.resolve();
    return this.exclusive(async () => run.dispose());
  }

  private run(runId: string): AnyRun {
    const run = this.runs.get(runId);
    if (!run)
      throw new Error(`The "${runLabel(runId)}" run is not in memory (it was trained before a reload).`);
    return run;
  }

  async start(spec: RunSpec): Promise<void> {
    const existing = this.runs.get(spec.id);
    if (existing?.active) throw new Error(`a run with id "${spec.id}" is already active`);
    await this.retire(existing);
    let run: AnyRun;
    try {
      if (spec.backend === 'webgpu') await this.ensureDevice();
      const start = await this.startingWeights(spec);
      // A run started from stored weights takes their shape (an imported Hugging Face model
      // rarely has the form's); its own attention settings (variant, window, ROSA) stay.
      const shaped = start ? { ...spec, model: { ...spec.model, ...start.shape } } : spec;
      run = await createRun(shaped, this.env, this.emit, start);
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
  private async startingWeights(spec: RunSpec): Promise<
    | {
        transplant: Map<string, Float32Array>;
        tokenizer?: string;
        /** The base's shape settings (layers, width, heads, …): the run takes them. */
        shape: BaseShape;
      }
    | undefined
  > {
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
    const { tokenizer } = contents.manifest;
    return {
      transplant: contents.parameters,
      shape: hfBaseSettings(contents.manifest.spec.model),
      ...(tokenizer !== undefined ? { tokenizer } : {}),
    };
  }

  async pause(runId: string): Promise<void> {
    const run = this.run(runId);
    run.pause();
    if (run.isPaused) run.setStatus('paused');
  }

  async resume(runId: string): Promise<void> {
    const restored = !this.runs.has(runId);
    const run = await this.held(runId);
    run.resume();
    if (run.active) {
      run.setStatus('running');
      this.kick();
    } else if (restored) {
      // Its checkpoint was its last step: say so, or the UI waits for a run that never starts.
      run.setStatus(run.status);
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
        if (run.status === 'failed') await this.noteDeviceFailure(run);
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
    const run = await this.held(runId);
    return this.exclusive(() => run.retrievalMap(sample, layer));
  }

  async niahQuery(query: NiahQuery): Promise<NiahAnswer> {
    const run = await this.held(query.runId);
    return this.exclusive(() => run.niahQuery(query));
  }

  async niahGrid(
    runId: string,
    lengths: number[],
    depths: number[],
    samples: number,
  ): Promise<NiahGridCell[]> {
    const run = await this.held(runId);
    return this.exclusive(() => run.niahGrid(lengths, depths, samples));
  }

  // --- Text generation and attention maps ---

  /** The generations in progress, by run: cancelGeneration() marks them, their loops stop. */
  private readonly generations = new Map<string, Set<{ cancelled: boolean }>>();

  /**
   * Samples `request.length` tokens, handing each to `onToken` as soon as it is known. Each
   * token is its own job in the model queue, so training steps (and other queries) run between
   * tokens rather than waiting for the whole text. A cancel ends it after the current token.
   */
  async generate(request: GenerationRequest, onToken?: (token: GeneratedToken) => void): Promise<Generation> {
    const handle = { cancelled: false };
    const live = this.generations.get(request.runId) ?? new Set();
    this.generations.set(request.runId, live);
    live.add(handle);
    try {
      const run = await this.held(request.runId);
      const session = run.generation(request);
      while (!session.done && !handle.cancelled) {
        // A macrotask turn first, as the scheduling loop takes between steps: the next step is
        // then queued before the next token, however fast a token was.
        if (session.tokens.length > 0) await new Promise((resolve) => setTimeout(resolve, 0));
        // Checked again in the queue: a cancel that came while a training step ran saves a pass.
        const token = await this.exclusive(async () => (handle.cancelled ? null : session.step()));
        if (!token) break;
        try {
          onToken?.(token);
        } catch {
          // A listener that failed (a closed page) must not stop the queue.
        }
      }
      return session.result();
    } finally {
      live.delete(handle);
      if (live.size === 0 && this.generations.get(request.runId) === live)
        this.generations.delete(request.runId);
    }
  }

  async cancelGeneration(runId: string): Promise<void> {
    for (const handle of this.generations.get(runId) ?? []) handle.cancelled = true;
  }

  async attentionMap(runId: string, sample: number, layer: number): Promise<AttentionMap> {
    const run = await this.held(runId);
    return this.exclusive(() => run.attentionMap(sample, layer));
  }

  async gradientCheck(request: GradientCheckRequest): Promise<GradientCheckResult> {
    return checkRunGradient(await this.held(request.runId), request);
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
    const run = await this.held(runId);
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
    if (contents.manifest.spec.backend === 'webgpu') await this.ensureDevice();
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
    if (contents.manifest.tokenizerRef) {
      throw new CheckpointError(
        'uploaded .json refers to a stored tokenizer instead of holding it: upload the files the Download button gives',
      );
    }
    const normalized = encodeCheckpoint(contents);
    const key = `${contents.manifest.spec.id}-step${contents.manifest.step}`.replace(/[^A-Za-z0-9_.-]/g, '_');
    infoFromFiles(key, normalized);
    return this.store().put(key, normalized);
  }

  // ---- Restoring a run's model from its latest checkpoint (after a reload or a lost device) ----

  private readonly restoring = new Map<string, Promise<AnyRun>>();

  /**
   * The run, or, when this engine does not hold it (the page was reloaded, or its device was
   * lost), its model restored from its latest readable checkpoint: paused, and silent (no
   * status event), so a finished run stays finished where it is listed.
   */
  private held(runId: string): Promise<AnyRun> {
    const run = this.runs.get(runId);
    if (run) return Promise.resolve(run);
    let pending = this.restoring.get(runId);
    if (!pending) {
      pending = this.restore(runId).finally(() => this.restoring.delete(runId));
      this.restoring.set(runId, pending);
    }
    return pending;
  }

  private async restore(runId: string): Promise<AnyRun> {
    const store = this.env.store;
    const run = store
      ? await runFromLatestCheckpoint(store, runId, async (contents) => {
          if (contents.manifest.spec.backend === 'webgpu') await this.ensureDevice();
          return createRun(contents.manifest.spec, this.env, this.emit, { resume: contents });
        })
      : null;
    if (!run) throw new Error(noModelMessage(runId, store !== null));
    run.markRestored();
    const meanwhile = this.runs.get(runId);
    if (meanwhile) {
      // Started or loaded while this was being read: that one wins.
      run.dispose();
      return meanwhile;
    }
    this.runs.set(runId, run);
    return run;
  }

  // ---- A lost GPU device: a new one for new runs, and the runs it stopped resumed on request ----

  private readonly createGpu: (() => Promise<GpuContext>) | undefined;
  /** Runs the lost device stopped, by id, until they are resumed. */
  private readonly affected = new Map<string, AffectedRun>();
  private lostReason: string | null = null;
  private replacing: Promise<GpuContext> | null = null;

  /** The device runs are created on now (tests, the CLI). */
  get gpu(): GpuContext | null {
    return this.env.gpu;
  }

  private watchDevice(gpu: GpuContext | null): void {
    if (!gpu) return;
    void gpu.device.lost.then(() => this.onDeviceLost(gpu));
  }

  private onRunDevice(run: AnyRun, gpu: GpuContext): boolean {
    return run.model.backend instanceof GpuBackend && run.model.backend.ctx === gpu;
  }

  private onDeviceLost(gpu: GpuContext): void {
    if (this.env.gpu !== gpu) return;
    this.lostReason = gpu.lost;
    for (const run of this.runs.values()) {
      // Finished and stopped runs lose their models too, but queries restore those on demand.
      if (!this.onRunDevice(run, gpu) || !run.active) continue;
      void this.markAffected(run, gpu);
    }
    // A new device right away, so new runs (and info()) need not wait for a click.
    if (this.createGpu) void this.ensureDevice().catch(() => undefined);
  }

  /**
   * A run can fail on a lost device before the device's loss is reported (a failed map or
   * submit): wait until the queue has settled, then count it as affected if the device is gone.
   */
  private async noteDeviceFailure(run: AnyRun): Promise<void> {
    const gpu = run.model.backend instanceof GpuBackend ? run.model.backend.ctx : null;
    if (!gpu || this.affected.has(run.spec.id)) return;
    await Promise.race([gpu.device.lost, gpu.device.queue.onSubmittedWorkDone().catch(() => undefined)]);
    if (gpu.lost !== null) await this.markAffected(run, gpu);
  }

  private async markAffected(run: AnyRun, gpu: GpuContext): Promise<void> {
    const runId = run.spec.id;
    if (this.affected.has(runId)) return;
    const entry: AffectedRun = { runId, checkpointStep: null };
    this.affected.set(runId, entry);
    const saved = this.env.store ? await checkpointsOf(this.env.store, runId).catch(() => []) : [];
    entry.checkpointStep = saved[0]?.step ?? null;
    this.emit({
      type: 'device-lost',
      runId,
      reason: gpu.lost ?? 'unknown reason',
      checkpointStep: entry.checkpointStep,
    });
  }

  /** A live device: the current one, or a new one when it was lost (once, however many ask). */
  private async ensureDevice(): Promise<GpuContext | null> {
    const current = this.env.gpu;
    if (!current || current.lost === null) return current;
    if (!this.createGpu) {
      throw new Error(`The GPU device was lost (${current.lost}) and this engine cannot create another one.`);
    }
    this.replacing ??= this.replaceDevice(current).finally(() => {
      this.replacing = null;
    });
    return this.replacing;
  }

  private async replaceDevice(lost: GpuContext): Promise<GpuContext> {
    const gpu = await this.createGpu!();
    this.env.gpu = gpu;
    this.watchDevice(gpu);
    // Models on the lost device are gone: drop them (between steps), so a query or a resume
    // restores them from their checkpoints; the ones still training end with a message now.
    await this.exclusive(async () => {
      for (const [id, run] of this.runs) {
        if (!this.onRunDevice(run, lost)) continue;
        this.runs.delete(id);
        if (run.active) run.haltOnLostDevice(lost.lost ?? 'unknown reason');
        run.dispose();
      }
    });
    return gpu;
  }

  /** Replaces a lost device (a no-op while it is alive); lists the runs the loss stopped. */
  async recoverDevice(): Promise<DeviceRecovery> {
    const gpu = await this.ensureDevice();
    return {
      adapter: gpu ? gpu.adapter.description || gpu.adapter.vendor || 'WebGPU' : null,
      lostReason: this.lostReason,
      affected: [...this.affected.values()].map((a) => ({ ...a })),
    };
  }

  /**
   * One click after a device loss: a new device, then every affected run (or the ones named,
   * e.g. by a page that was reloaded meanwhile) continues from its latest checkpoint.
   */
  async resumeAffected(runIds?: string[]): Promise<DeviceRecovery> {
    const recovery = await this.recoverDevice();
    const ids = runIds ?? recovery.affected.map((a) => a.runId);
    const affected: AffectedRun[] = [];
    for (const runId of ids) {
      const entry: AffectedRun = { ...(this.affected.get(runId) ?? { runId, checkpointStep: null }) };
      try {
        const held = this.runs.get(runId);
        // Still held on the lost device (it failed before the new device was made): drop it.
        if (held && held.model.backend instanceof GpuBackend && held.model.backend.ctx.lost !== null) {
          this.runs.delete(runId);
          await this.retire(held);
        }
        await this.resume(runId);
        const run = this.runs.get(runId);
        entry.checkpointStep = run ? run.step : entry.checkpointStep;
        entry.resumed = true;
        this.affected.delete(runId);
      } catch (err) {
        entry.resumed = false;
        entry.message = err instanceof Error ? err.message : String(err);
      }
      affected.push(entry);
    }
    return { ...recovery, affected };
  }
}
