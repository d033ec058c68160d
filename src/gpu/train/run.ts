// One training run, top to bottom: batch → forward (with the ROSA scans) → loss →
// backward → clip + AdamW → metrics; evaluation and checkpoints on their schedule.
// The same code runs in the browser's trainer worker and in the Node experiment CLI.

import { RosaWorkerError } from '../../rosa-worker/pool.ts';
import { type NiahSample, NiahTask } from '../../tasks/niah.ts';
import { positionBucket } from '../../tasks/text.ts';
import type { TaskGenerator } from '../../tasks/types.ts';
import {
  type CheckpointContents,
  encodeCheckpoint,
  NonFiniteCheckpointError,
} from '../checkpoint/checkpoint.ts';
import { logLines, rowsAfter } from '../checkpoint/metrics-history.ts';
import { type CheckpointStore, checkpointKey } from '../checkpoint/store.ts';
import type { RosaScanner, Sized } from '../model/backend.ts';
import type { Model } from '../model/model.ts';
import { GenerationSession } from './generate.ts';
import {
  attentionMap,
  niahAccuracy,
  niahGrid,
  niahHeadlineDistance,
  niahQuery,
  type ProbeSubject,
  retrievalMap,
} from './probes.ts';
import type {
  AttentionMap,
  CheckpointInfo,
  EvalMetrics,
  GenerationRequest,
  NiahAnswer,
  NiahGridCell,
  NiahQuery,
  RetrievalMap,
  RunSpec,
  RunStatus,
  StepMetrics,
  TrainerEvent,
} from './protocol.ts';
import { rosaNeedleHits } from './retrieval-diagnostic.ts';
import { groupRates, warmupLength } from './schedule.ts';
import { positionLosses } from './tasks.ts';

export interface RunDeps {
  scanner: RosaScanner;
  store: CheckpointStore | null;
  emit: (event: TrainerEvent) => void;
}

/** How many NIAH samples the periodic evaluation scores at the headline distance. */
export const NIAH_EVAL_SAMPLES = 32;

export class TrainingRun<F extends Sized, I extends Sized> {
  readonly spec: RunSpec;
  readonly model: Model<F, I>;
  readonly task: TaskGenerator;
  readonly deps: RunDeps;
  status: RunStatus = 'queued';
  step = 0;
  readonly steps: StepMetrics[] = [];
  readonly evals: EvalMetrics[] = [];
  private pauseRequested = false;
  private stopRequested = false;
  private resumeWaiter: (() => void) | null = null;
  private lastCheckpoint: CheckpointInfo | null = null;
  /** The base model's tokenizer.json the run started from; its checkpoints carry it on. */
  baseTokenizer: string | null = null;
  /** Rows up to this step are in the store's metrics log (a loaded run's history already was). */
  private loggedThrough: number;

  constructor(spec: RunSpec, model: Model<F, I>, task: TaskGenerator, deps: RunDeps, startStep = 0) {
    this.spec = spec;
    this.model = model;
    this.task = task;
    this.deps = deps;
    this.step = startStep;
    this.loggedThrough = startStep;
  }

  /** Frees the model, then what its backend holds (the CPU backend's worker threads). */
  dispose(): void {
    this.model.dispose();
    this.model.backend.dispose();
  }

  setStatus(status: RunStatus, message?: string): void {
    this.status = status;
    this.deps.emit({ type: 'status', runId: this.spec.id, status, step: this.step, message });
  }

  pause(): void {
    if (this.status === 'running' || this.status === 'queued') this.pauseRequested = true;
  }

  resume(): void {
    this.pauseRequested = false;
    this.resumeWaiter?.();
    this.resumeWaiter = null;
  }

  stop(): void {
    this.stopRequested = true;
    this.resume();
  }

  private announced = false;

  /** True while there are steps left and no stop was asked for. */
  get active(): boolean {
    return (
      this.status !== 'failed' &&
      this.status !== 'finished' &&
      this.status !== 'stopped' &&
      this.step < this.spec.train.steps &&
      !this.stopRequested
    );
  }

  /**
   * Does one unit of work: a training step (with the evaluation and checkpoint due after it),
   * or the wrap-up when the run is over. Returns false once the run has ended. Pausing is the
   * caller's business (see run()); the engine interleaves several runs by calling this in turn.
   */
  async advance(): Promise<boolean> {
    const { spec, model } = this;
    const train = spec.train;
    if (!this.announced) {
      this.announced = true;
      this.deps.emit({
        type: 'started',
        runId: spec.id,
        totalSteps: train.steps,
        parameters: model.parameterCount,
        gpuBytes: model.backend.allocatedBytes(),
        backend: spec.backend,
      });
    }
    if (this.status === 'failed' || this.status === 'finished' || this.status === 'stopped') return false;
    try {
      if (this.active) {
        if (this.status !== 'running') this.setStatus('running');
        const metrics = await this.trainStepRetrying();
        if (!metrics) return false;
        const s = this.step;
        if (train.evalEvery > 0 && (s % train.evalEvery === 0 || s === train.steps))
          await this.retryOnWorkerFailure(`in the evaluation at step ${s}`, () => this.evaluate());
        if (train.checkpointEvery > 0 && s % train.checkpointEvery === 0 && this.deps.store)
          await this.saveCheckpoint();
        if (this.active) return true;
      }
      if (this.deps.store && this.step > 0 && this.lastCheckpoint?.step !== this.step)
        await this.saveCheckpoint();
      this.setStatus(this.stopRequested ? 'stopped' : 'finished');
    } catch (err) {
      this.fail((err as Error).message);
    }
    return false;
  }

  /** The checkpoint this run was loaded from: finite (the loader checks), so the last good one. */
  resumedFrom(info: CheckpointInfo): void {
    this.lastCheckpoint = info;
  }

  /** Marks a run that waits for resume() (e.g. loaded from a checkpoint). */
  markPaused(): void {
    this.pauseRequested = true;
    this.setStatus('paused');
  }

  /**
   * Marks a run restored from its checkpoint to answer queries (engine.held()): waiting for
   * resume() like a paused run, but silently, since the UI already lists it as it was.
   */
  markRestored(): void {
    this.pauseRequested = true;
    this.status = this.step >= this.spec.train.steps ? 'finished' : 'paused';
  }

  /** Ends a run whose model was on a GPU device that was lost (the engine drops the model). */
  haltOnLostDevice(reason: string): void {
    const last = this.lastCheckpoint
      ? ` Resume it to continue from its last good checkpoint (step ${this.lastCheckpoint.step}) on a new device.`
      : ' It saved no checkpoint, so it cannot be resumed.';
    this.fail(`The GPU device was lost (${reason}); the run stopped at step ${this.step}.${last}`);
  }

  get isPaused(): boolean {
    return this.pauseRequested;
  }

  /** Trains from the current step to spec.train.steps (or until stopped), honouring pause(). */
  async run(): Promise<void> {
    while (true) {
      if (this.pauseRequested && !this.stopRequested) {
        this.setStatus('paused');
        await new Promise<void>((resolve) => {
          this.resumeWaiter = resolve;
        });
      }
      if (!(await this.advance())) return;
      // Let pause/stop messages and UI work through between steps.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }

  private fail(message: string): void {
    this.deps.emit({ type: 'error', runId: this.spec.id, message });
    this.setStatus('failed', message);
  }

  /**
   * A ROSA worker that died, threw or timed out fails only the scan: the pool respawns it on
   * the next scan, and nothing of the step (which scans only in its forward pass, before any
   * weight changes) or of the evaluation (which keeps its figures until its end) has been
   * applied. So either is tried once more before the run fails.
   */
  private async retryOnWorkerFailure<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof RosaWorkerError)) throw err;
      this.deps.emit({
        type: 'status',
        runId: this.spec.id,
        status: this.status,
        step: this.step,
        message: `A ROSA worker failed ${what} (${err.message}); retrying it once.`,
      });
      return work();
    }
  }

  private trainStepRetrying(): Promise<StepMetrics | null> {
    return this.retryOnWorkerFailure(`at step ${this.step + 1}`, () => this.trainStep());
  }

  /** One optimisation step; null when the run had to stop (non-finite loss or gradients). */
  async trainStep(): Promise<StepMetrics | null> {
    const { spec, model, task } = this;
    const train = spec.train;
    const t0 = performance.now();
    const T = task.variableLength
      ? warmupLength(this.step, train.lengthWarmup ?? 0, task.seqLen, task.minLength)
      : task.seqLen;
    const batch = task.batch('train', this.step, train.batchSize, T);
    // Forward, backward and the optimizer are recorded back to back and the loss and gradient
    // norm read together at the end: one GPU sync point per step (plus one per ROSA layer, for
    // its symbols). The non-finite checks below still run before this method returns, so
    // before any evaluation or checkpoint can see the step's weights.
    // With micro-batches, the parts' passes interleave so that one part's scan overlaps another's GPU work.
    const fwd = await model.forward(batch.tokens, batch.targets, batch.B, batch.T, this.deps.scanner, true, {
      deferLoss: true,
      microBatches: train.microBatches,
    });
    const tb = performance.now();
    model.backward();
    const to = performance.now();
    const rates = groupRates(train, this.step);
    model.optimizerStep(
      rates,
      {
        beta1: train.beta1,
        beta2: train.beta2,
        eps: train.eps,
        maxGradNorm: train.gradClip,
        weightDecay: train.weightDecay,
      },
      this.step + 1,
    );
    const tr = performance.now();
    const { loss, gradNorm } = await model.readStepStats();
    const t1 = performance.now();
    const last = this.lastCheckpoint
      ? ` The last good checkpoint is "${this.lastCheckpoint.key}" (step ${this.lastCheckpoint.step}).`
      : '';
    if (!Number.isFinite(loss.meanLoss)) {
      this.fail(
        `The loss became ${loss.meanLoss} at step ${this.step + 1}; the weights are no longer usable and the run was stopped.${last} Try a lower learning rate or a smaller gradient clip.`,
      );
      return null;
    }
    if (!Number.isFinite(gradNorm)) {
      this.fail(
        `The gradient norm became ${gradNorm} at step ${this.step + 1}; the weights are no longer usable and the run was stopped.${last}`,
      );
      return null;
    }
    this.step++;
    const total = t1 - t0;
    const metrics: StepMetrics = {
      step: this.step,
      loss: loss.meanLoss,
      accuracy: loss.accuracy,
      lr: rates.base > 0 ? rates.base : rates.rosa,
      gradNorm,
      tokensPerSecond: (batch.B * batch.T) / (total / 1000),
      timing: {
        total,
        forward: fwd.timing.forward,
        scan: fwd.timing.scan,
        waiting: fwd.timing.waiting,
        overlap: fwd.timing.overlap,
        // One wait for the whole step: on the GPU backend, forward is its recording (and the
        // ROSA layers' waits), backward everything the GPU still had to do, optimizer its recording.
        backward: to - tb + (t1 - tr),
        optimizer: tr - to,
      },
    };
    this.steps.push(metrics);
    this.deps.emit({ type: 'step', runId: spec.id, metrics });
    return metrics;
  }

  async evaluate(): Promise<EvalMetrics> {
    const { spec, model, task } = this;
    const V = spec.model.vocabSize;
    let lossSum = 0;
    let correct = 0;
    let count = 0;
    const bucketSum: number[] = [];
    const bucketCount: number[] = [];
    let farSum = 0;
    let farCount = 0;
    for (let i = 0; i < spec.train.evalBatches; i++) {
      const batch = task.batch('validation', i, spec.train.batchSize);
      const r = await model.forward(batch.tokens, batch.targets, batch.B, batch.T, this.deps.scanner, false);
      lossSum += r.loss.meanLoss * r.loss.count;
      correct += r.loss.correctCount;
      count += r.loss.count;
      if (spec.task.kind === 'text' && (i === 0 || batch.longContext)) {
        const losses = positionLosses(await model.readLogits(), batch.targets, batch.B * batch.T, V);
        losses.forEach((l, row) => {
          if (Number.isNaN(l)) return;
          if (batch.longContext?.[row]) {
            farSum += l;
            farCount++;
          }
          if (i > 0) return;
          const b = positionBucket(row % batch.T);
          bucketSum[b] = (bucketSum[b] ?? 0) + l;
          bucketCount[b] = (bucketCount[b] ?? 0) + 1;
        });
      }
    }
    const metrics: EvalMetrics = {
      step: this.step,
      loss: count > 0 ? lossSum / count : 0,
      accuracy: count > 0 ? correct / count : 0,
    };
    if (bucketSum.length > 0) metrics.lossByPosition = bucketSum.map((s, b) => s / (bucketCount[b] || 1));
    if (farCount > 0) metrics.longContextLoss = farSum / farCount;
    if (task instanceof NiahTask) {
      const distance = this.niahHeadlineDistance(task);
      metrics.niahAtDistance = {
        distance,
        accuracy: await this.niahAccuracy(task.atDistance(distance, NIAH_EVAL_SAMPLES)),
      };
      const hits = await rosaNeedleHits(this, task, NIAH_EVAL_SAMPLES);
      if (hits) metrics.needleHits = hits.layers;
    }
    this.evals.push(metrics);
    this.deps.emit({ type: 'eval', runId: spec.id, metrics });
    return metrics;
  }

  async saveCheckpoint(): Promise<CheckpointInfo> {
    const store = this.deps.store;
    if (!store) throw new Error('no checkpoint store is configured');
    const contents: CheckpointContents = {
      manifest: {
        format: 'rosa-playground-checkpoint',
        version: 1,
        spec: this.spec,
        step: this.step,
        savedAt: new Date().toISOString(),
        metrics: { steps: this.steps, evals: this.evals },
        ...(this.baseTokenizer !== null ? { tokenizer: this.baseTokenizer } : {}),
      },
      parameters: await this.model.exportParameters(),
      optimizer: await this.model.exportOptimizerState(),
    };
    let files: ReturnType<typeof encodeCheckpoint>;
    try {
      files = encodeCheckpoint(contents);
    } catch (err) {
      // Never save a broken state, and point at the checkpoint that was not.
      const last = this.lastCheckpoint;
      if (err instanceof NonFiniteCheckpointError && last)
        err.message += `. The last good checkpoint is "${last.key}" (step ${last.step}).`;
      throw err;
    }
    const key = checkpointKey(this.spec.id, this.step);
    const info = await store.put(key, files);
    this.lastCheckpoint = info;
    await this.appendMetricsLog(store);
    this.deps.emit({ type: 'checkpoint', runId: this.spec.id, step: this.step, key });
    return info;
  }

  /** The full metrics history, appended at each save; manifests keep a bounded one. */
  private async appendMetricsLog(store: CheckpointStore): Promise<void> {
    const after = this.loggedThrough;
    const text =
      logLines('step', rowsAfter(this.steps, after)) + logLines('eval', rowsAfter(this.evals, after));
    if (text) await store.appendLog(this.spec.id, text);
    this.loggedThrough = this.step;
  }

  // Probes (probes.ts), here so the engine and the CLI can ask the run.
  private get probeSubject(): ProbeSubject<F, I> {
    return { spec: this.spec, model: this.model, task: this.task, scanner: this.deps.scanner };
  }

  retrievalMap(sample: number, layer: number): Promise<RetrievalMap> {
    return retrievalMap(this.probeSubject, sample, layer);
  }

  niahQuery(query: NiahQuery): Promise<NiahAnswer> {
    return niahQuery(this.probeSubject, query);
  }

  /** Softmax probabilities of each attention head of `layer` on validation sample `sample`. */
  attentionMap(sample: number, layer: number): Promise<AttentionMap> {
    return attentionMap(this.probeSubject, sample, layer);
  }

  /** A text generation over this run's model (validated now), stepped one token at a time. */
  generation(request: GenerationRequest): GenerationSession {
    return new GenerationSession(this.probeSubject as ProbeSubject<Sized, Sized>, request);
  }

  niahGrid(lengths: number[], depths: number[], samples: number): Promise<NiahGridCell[]> {
    return niahGrid(this.probeSubject, lengths, depths, samples);
  }

  niahHeadlineDistance(task: NiahTask): number {
    return niahHeadlineDistance(task, this.spec.model.window);
  }

  niahAccuracy(samples: NiahSample[]): Promise<number> {
    return niahAccuracy(this.probeSubject, samples);
  }
}
