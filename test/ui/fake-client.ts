// An in-process TrainerClient for UI tests: runs advance when the test says so (or on a
// timer), losses fall deterministically, ROSA variants "find" the needle and windowed ones
// do not. It checks specs with the same validators the real engine uses.

import { validateRunSpec } from '../../src/config/validate.ts';
import { hasRosa, rosaLayers } from '../../src/gpu/model/config.ts';
import type { CheckpointFiles, EngineInfo, TrainerClient } from '../../src/gpu/train/client.ts';
import type {
  Agreement,
  GradientCheckRequest,
  GradientCheckResult,
} from '../../src/gpu/train/gradient-check.ts';
import type {
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
  RunStatus,
  TrainerEvent,
} from '../../src/gpu/train/protocol.ts';

interface FakeRun {
  spec: RunSpec;
  step: number;
  status: RunStatus;
  timer: ReturnType<typeof setInterval> | null;
}

export interface FakeClientOptions {
  info?: Partial<EngineInfo>;
  /** Advance every running run by one step every `autoStepMs` ms (0: only by `advance`). */
  autoStepMs?: number;
}

export const FAKE_LIMITS = {
  maxStorageBufferBindingSize: 128 * 2 ** 20,
  maxBufferSize: 256 * 2 ** 20,
  maxComputeInvocationsPerWorkgroup: 256,
};

export class FakeTrainerClient implements TrainerClient {
  readonly runs = new Map<string, FakeRun>();
  readonly calls: string[] = [];
  readonly checkpoints = new Map<string, { info: CheckpointInfo; spec: RunSpec; files: CheckpointFiles }>();
  private listeners = new Set<(e: TrainerEvent) => void>();
  private readonly engineInfo: EngineInfo;
  private readonly autoStepMs: number;
  private ckptCounter = 0;

  constructor(options: FakeClientOptions = {}) {
    this.engineInfo = {
      adapter: {
        vendor: 'fakevendor',
        architecture: 'fake-arch',
        device: 'fake device',
        description: 'Fake GPU for tests',
        isSoftware: false,
        features: [],
        limits: { ...FAKE_LIMITS },
        platform: 'browser',
      },
      gpuError: null,
      crossOriginIsolated: true,
      rosaWorkers: 2,
      rosaSharedMemory: true,
      ...options.info,
    };
    this.autoStepMs = options.autoStepMs ?? 0;
  }

  emit(event: TrainerEvent): void {
    for (const l of this.listeners) l(event);
  }

  async info(): Promise<EngineInfo> {
    return this.engineInfo;
  }

  async start(spec: RunSpec): Promise<void> {
    this.calls.push(`start ${spec.id}`);
    const errors = validateRunSpec(spec);
    if (errors.length > 0) throw new Error(errors.map((e) => `${e.field} ${e.message}`).join('; '));
    const run: FakeRun = { spec, step: 0, status: 'running', timer: null };
    this.runs.set(spec.id, run);
    this.emit({
      type: 'started',
      runId: spec.id,
      totalSteps: spec.train.steps,
      parameters: 12345,
      gpuBytes: 1 << 20,
      backend: spec.backend,
    });
    this.emit({ type: 'status', runId: spec.id, status: 'running', step: 0 });
    this.startTimer(run);
  }

  private startTimer(run: FakeRun): void {
    if (this.autoStepMs > 0 && !run.timer) {
      run.timer = setInterval(() => this.advance(run.spec.id, 1), this.autoStepMs);
    }
  }

  private stopTimer(run: FakeRun): void {
    if (run.timer) clearInterval(run.timer);
    run.timer = null;
  }

  /** Loss of a run at a step: falls faster for variants that can retrieve. */
  static lossAt(spec: RunSpec, step: number): number {
    const floor = spec.model.variant === 'window' ? 2.0 : 0.2;
    return floor + 3 * Math.exp(-step / 20);
  }

  /** Runs `n` training steps of a running run (evals and checkpoints as configured). */
  advance(runId: string, n: number): void {
    const run = this.runs.get(runId);
    if (run?.status !== 'running') return;
    const { train } = run.spec;
    // Like the engine, `step` counts finished steps (1 after the first).
    for (let i = 0; i < n && run.step < train.steps; i++) {
      run.step++;
      const loss = FakeTrainerClient.lossAt(run.spec, run.step);
      this.emit({
        type: 'step',
        runId,
        metrics: {
          step: run.step,
          loss,
          accuracy: Math.max(0, 1 - loss / 3),
          lr: train.lr,
          gradNorm: 1,
          tokensPerSecond: 5000,
          timing: { total: 10, forward: 4, scan: 2, waiting: 1, overlap: 1, backward: 4, optimizer: 1 },
        },
      });
      if (train.evalEvery > 0 && run.step % train.evalEvery === 0) {
        this.emit({
          type: 'eval',
          runId,
          metrics: {
            step: run.step,
            loss: loss + 0.1,
            accuracy: Math.max(0, 1 - (loss + 0.1) / 3),
            ...(run.spec.task.kind === 'text' ? { lossByPosition: [3, 2.5, 2.2, 2, 1.9, 1.8] } : {}),
            // ROSA "learns" to retrieve the needle as steps go by.
            ...(run.spec.task.kind === 'niah' && hasRosa(run.spec.model)
              ? {
                  needleHits: rosaLayers(run.spec.model).map((layer) => ({
                    layer,
                    share: Math.min(1, run.step / 20),
                  })),
                }
              : {}),
          },
        });
      }
      if (train.checkpointEvery > 0 && run.step % train.checkpointEvery === 0) {
        const at = run.step;
        void this.saveCheckpoint(runId).then((info) =>
          this.emit({ type: 'checkpoint', runId, step: at, key: info.key }),
        );
      }
    }
    if (run.step >= train.steps) {
      run.status = 'finished';
      this.stopTimer(run);
      this.emit({ type: 'status', runId, status: 'finished', step: run.step });
    }
  }

  async pause(runId: string): Promise<void> {
    this.calls.push(`pause ${runId}`);
    const run = this.mustRun(runId);
    run.status = 'paused';
    this.stopTimer(run);
    this.emit({ type: 'status', runId, status: 'paused', step: run.step });
  }

  async resume(runId: string): Promise<void> {
    this.calls.push(`resume ${runId}`);
    const run = this.runs.get(runId) ?? this.restore(runId);
    run.status = 'running';
    this.emit({ type: 'status', runId, status: 'running', step: run.step });
    this.startTimer(run);
  }

  async stop(runId: string): Promise<void> {
    this.calls.push(`stop ${runId}`);
    const run = this.mustRun(runId);
    run.status = 'stopped';
    this.stopTimer(run);
    this.emit({ type: 'status', runId, status: 'stopped', step: run.step });
  }

  subscribe(listener: (event: TrainerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private mustRun(runId: string): FakeRun {
    const run = this.runs.get(runId);
    if (!run) throw new Error(`unknown run ${runId}`);
    return run;
  }

  async retrievalMap(runId: string, sample: number, layer: number): Promise<RetrievalMap> {
    const run = this.mustRun(runId);
    if (!hasRosa(run.spec.model)) throw new Error(`${run.spec.name} has no ROSA layers`);
    if (!rosaLayers(run.spec.model).includes(layer)) throw new Error(`layer ${layer} has no ROSA adapter`);
    const T = 16;
    const routes = 2;
    const dest = new Int32Array(routes * T).fill(-1);
    // Route 0 retrieves position t − 8 (beyond a window of 4), route 1 position t − 1.
    for (let t = 0; t < T; t++) {
      if (t >= 8) dest[t] = t - 8;
      if (t >= 1) dest[T + t] = t - 1;
    }
    return {
      runId,
      layer,
      T,
      tokens: Array.from({ length: T }, (_, t) => String.fromCharCode(97 + ((t + sample) % 26))),
      routes,
      dest,
      window: 4,
      attention: 'window',
    };
  }

  async niahQuery(query: NiahQuery): Promise<NiahAnswer> {
    const run = this.mustRun(query.runId);
    this.calls.push(`niah ${query.runId}`);
    const tokens = [...query.haystack.slice(0, 20)];
    const needlePos = Math.round(query.depth * (tokens.length - 1));
    tokens.splice(needlePos, 0, '⟨K⟩', ...query.key);
    const queryPos = tokens.length;
    tokens.push('⟨Q⟩', ...query.key);
    const finds = run.spec.model.variant !== 'window';
    const answer = finds ? query.key : query.key.replace(/\d/g, (d) => String((Number(d) + 1) % 10));
    const retrievals = rosaLayers(run.spec.model).flatMap((layer) =>
      Array.from({ length: query.key.length }, (_, i) => ({
        layer,
        position: queryPos + i,
        dest: [needlePos + 1 + i, -1],
      })),
    );
    return {
      runId: query.runId,
      answer,
      correct: answer === query.key,
      needlePos,
      queryPos,
      tokens,
      retrievals,
    };
  }

  async niahGrid(
    runId: string,
    lengths: number[],
    depths: number[],
    _samples: number,
  ): Promise<NiahGridCell[]> {
    const run = this.mustRun(runId);
    const window = run.spec.model.window;
    return lengths.flatMap((length) =>
      depths.map((depth) => ({
        length,
        depth,
        accuracy: run.spec.model.variant === 'window' && (1 - depth) * length > window ? 0.1 : 1,
      })),
    );
  }

  /** Canned figures: the value route agrees, the key route does not. */
  async gradientCheck(request: GradientCheckRequest): Promise<GradientCheckResult> {
    const run = this.mustRun(request.runId);
    const m = run.spec.model;
    if (!hasRosa(m)) throw new Error(`${run.spec.name} has no ROSA layers to check`);
    const agreement = (cosine: number): Agreement => ({
      flips: request.maxFlipsPerRoute,
      cosine,
      signAgreement: (1 + cosine) / 2,
      descentPrecision: (1 + cosine) / 2,
      surrogateNonzero: 10,
      trueNonzero: 10,
      bothNonzero: 10,
      trueImproving: 5,
      surrogateNorm: 1,
      trueNorm: 1,
      weightCosine: cosine,
    });
    return {
      layers: rosaLayers(m).map((layer) => ({
        layer,
        ...agreement(0.4),
        routes: [
          { route: 'q', ...agreement(0.5) },
          { route: 'k', ...agreement(0) },
          { route: 'v', ...agreement(0.9) },
        ],
        meanAbsDelta: 0.1,
        matchedShare: 0.5,
        descent: [
          {
            relativeStep: 0.03,
            surrogate: -0.02,
            surrogateAscent: 0.01,
            surrogateSign: -0.01,
            trueBits: -0.03,
            random: 0,
          },
        ],
      })),
      settings: {
        semantics: m.rosa.semantics,
        qk: m.rosa.qk,
        bits: m.rosa.bits,
        eInit: m.rosa.eInit ?? 0,
        tempQ: m.rosa.tempQ,
        tempK: m.rosa.tempK,
        tempV: m.rosa.tempV,
        vProbContrast: m.rosa.vProbContrast,
        width: m.width,
        layers: m.layers,
        B: request.sequences,
        T: m.seqLen,
        maxFlipsPerRoute: request.maxFlipsPerRoute,
        seed: 1,
        surrogateScale: 1,
      },
      baseLoss: 2,
      flips: 3 * request.maxFlipsPerRoute * rosaLayers(m).length,
      forwardPasses: 10,
      elapsedMs: 5,
    };
  }

  // --- Text generation and attention maps ---

  /** What the fake "samples": this text, cycled, whatever the prompt. */
  static readonly GENERATED = ' the whale';

  /** Awaited before each generated token: a test can hold the stream part-way. */
  tokenGate: ((index: number) => Promise<void>) | null = null;

  /** The generations in progress, by run: cancelGeneration() marks them. */
  private readonly generating = new Map<string, Set<{ cancelled: boolean }>>();

  /** Streams GENERATED one character per macrotask, so a test can see the text grow; a cancel ends it. */
  async generate(request: GenerationRequest, onToken?: (token: GeneratedToken) => void): Promise<Generation> {
    const run = this.mustRun(request.runId);
    this.calls.push(`generate ${request.runId} t=${request.temperature} n=${request.length}`);
    if (run.spec.task.kind !== 'text') throw new Error(`run "${run.spec.name}" was not trained on text`);
    const handle = { cancelled: false };
    const live = this.generating.get(request.runId) ?? new Set();
    this.generating.set(request.runId, live);
    live.add(handle);
    const tokens: GeneratedToken[] = [];
    try {
      for (let i = 0; i < request.length; i++) {
        await new Promise((r) => setTimeout(r, 1));
        await this.tokenGate?.(i);
        if (handle.cancelled) break;
        const text = FakeTrainerClient.GENERATED[i % FakeTrainerClient.GENERATED.length];
        const token = { index: i, id: text.charCodeAt(0), text, probability: 0.5 };
        tokens.push(token);
        onToken?.(token);
      }
    } finally {
      live.delete(handle);
    }
    return {
      runId: request.runId,
      prompt: request.prompt,
      text: tokens.map((t) => t.text).join(''),
      tokens,
      context: run.spec.model.seqLen,
      stopped: tokens.length < request.length,
    };
  }

  async cancelGeneration(runId: string): Promise<void> {
    this.calls.push(`cancel generation ${runId}`);
    for (const handle of this.generating.get(runId) ?? []) handle.cancelled = true;
  }

  /** Head 0 attends to the previous token, every other head uniformly over the window band. */
  async attentionMap(runId: string, sample: number, layer: number): Promise<AttentionMap> {
    const run = this.mustRun(runId);
    this.calls.push(`attention ${runId} ${layer}`);
    if (layer < 0 || layer >= run.spec.model.layers) throw new Error(`layer ${layer} is outside the model`);
    const T = 16;
    const heads = 2;
    const window = 4;
    const probs = new Float32Array(heads * T * T);
    for (let t = 0; t < T; t++) {
      probs[t * T + Math.max(0, t - 1)] = 1;
      const from = Math.max(0, t - window + 1);
      for (let u = from; u <= t; u++) probs[(T + t) * T + u] = 1 / (t - from + 1);
    }
    return {
      runId,
      layer,
      T,
      tokens: Array.from({ length: T }, (_, t) => String.fromCharCode(97 + ((t + sample) % 26))),
      heads,
      probs,
      window,
      attention: 'window',
    };
  }

  async listCheckpoints(): Promise<CheckpointInfo[]> {
    return [...this.checkpoints.values()].map((c) => c.info);
  }

  async saveCheckpoint(runId: string): Promise<CheckpointInfo> {
    const run = this.mustRun(runId);
    this.ckptCounter++;
    const key = `ckpt-${this.ckptCounter}`;
    const info: CheckpointInfo = {
      key,
      runId,
      name: run.spec.name,
      step: run.step,
      savedAt: '2025-01-01T00:00:00.000Z',
      bytes: 4096,
      variant: run.spec.model.variant,
    };
    const manifest = JSON.stringify({ spec: run.spec, step: run.step });
    this.checkpoints.set(key, {
      info,
      spec: run.spec,
      files: { weights: new Uint8Array([1, 2, 3]), manifest },
    });
    return info;
  }

  /** Like the engine: the run comes back under its own id, paused at the checkpoint's step. */
  async loadCheckpoint(key: string): Promise<RunSpec> {
    const c = this.checkpoints.get(key);
    if (!c) throw new Error(`no checkpoint ${key}`);
    const active = this.runs.get(c.spec.id);
    if (active) this.stopTimer(active);
    const spec = { ...c.spec, fromCheckpoint: key };
    this.runs.set(spec.id, { spec, step: c.info.step, status: 'paused', timer: null });
    this.emit({ type: 'status', runId: spec.id, status: 'paused', step: c.info.step });
    return spec;
  }

  async deleteCheckpoint(key: string): Promise<void> {
    this.checkpoints.delete(key);
  }

  async exportCheckpoint(key: string): Promise<CheckpointFiles> {
    const c = this.checkpoints.get(key);
    if (!c) throw new Error(`no checkpoint ${key}`);
    return c.files;
  }

  async importCheckpoint(files: CheckpointFiles): Promise<CheckpointInfo> {
    let manifest: { spec?: RunSpec; step?: number };
    try {
      manifest = JSON.parse(files.manifest);
    } catch {
      throw new Error('The manifest is not valid JSON');
    }
    if (!manifest.spec) throw new Error('The manifest has no run spec');
    if (files.weights.length < 8)
      throw new Error('The safetensors file is truncated (fewer than 8 header bytes)');
    this.ckptCounter++;
    const key = `ckpt-${this.ckptCounter}`;
    const info: CheckpointInfo = {
      key,
      runId: manifest.spec.id,
      name: manifest.spec.name,
      step: manifest.step ?? 0,
      savedAt: '2025-01-01T00:00:00.000Z',
      bytes: files.weights.length,
      variant: manifest.spec.model.variant,
    };
    this.checkpoints.set(key, { info, spec: manifest.spec, files });
    return info;
  }

  dispose(): void {
    for (const run of this.runs.values()) this.stopTimer(run);
  }

  // Like the engine after a reload or a lost device: a run not held comes back from its latest checkpoint.
  private restore(runId: string): FakeRun {
    const latest = [...this.checkpoints.values()]
      .filter((c) => c.info.runId === runId)
      .sort((a, b) => b.info.step - a.info.step)[0];
    if (!latest)
      throw new Error(`The "${runId}" run's model is no longer in memory and no checkpoint of it was saved`);
    const run: FakeRun = { spec: latest.spec, step: latest.info.step, status: 'paused', timer: null };
    this.runs.set(runId, run);
    return run;
  }

  /** Tests: the GPU device is lost under these runs (they are dropped, as the engine drops them). */
  loseDevice(runIds: string[]): void {
    for (const runId of runIds) {
      const run = this.runs.get(runId);
      if (run) this.stopTimer(run);
      this.runs.delete(runId);
      const step = Math.max(
        -1,
        ...[...this.checkpoints.values()].filter((c) => c.info.runId === runId).map((c) => c.info.step),
      );
      this.emit({
        type: 'device-lost',
        runId,
        reason: 'destroyed: test',
        checkpointStep: step >= 0 ? step : null,
      });
    }
  }

  async recoverDevice(): Promise<DeviceRecovery> {
    this.calls.push('recoverDevice');
    return { adapter: 'Fake GPU for tests', lostReason: null, affected: [] };
  }

  async resumeAffected(runIds: string[] = []): Promise<DeviceRecovery> {
    this.calls.push(`resumeAffected ${runIds.join(',')}`);
    const affected = [];
    for (const runId of runIds) {
      try {
        await this.resume(runId);
        affected.push({ runId, checkpointStep: this.runs.get(runId)?.step ?? null, resumed: true });
      } catch (err) {
        affected.push({ runId, checkpointStep: null, resumed: false, message: (err as Error).message });
      }
    }
    return { adapter: 'Fake GPU for tests', lostReason: 'destroyed: test', affected };
  }
}
