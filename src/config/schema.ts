// Every setting of an experiment, declared once: task, model (with its ROSA adapter and LRSA),
// training, backend, and the preset format that combines them. Types, defaults, validation
// (of a new run, a preset, a link, a checkpoint manifest), the form's labels and hints, the
// CLI's flags and presets/schema.json all come from here. Cross-field rules: rules.ts.

import * as z from 'zod/mini';
import { ATTENTION_MAX_HEAD_DIM } from '../gpu/ops/attention.ts';
import { ROSA_MAX_BITS } from '../rosa-worker/layout.ts';
import { bool, choice, int, intList, num, shown, text } from './fields.ts';

/** Objects of settings say what they are when given something else. */
const objectError = {
  error: (iss: { code?: string; input?: unknown }) =>
    iss.code === 'invalid_type' ? `must be an object of settings (got ${shown(iss.input)})` : undefined,
};

export const MAX_SEQ_LEN = 65536;
export const MAX_LAYERS = 64;
/**
 * Largest model vocabulary: room for Qwen2/Qwen3 (151,936) and Gemma (262,144). Ids are i32 and
 * every kernel over V loops over it or spreads its grid in 2-D, so nothing needs it below 2^31.
 */
export const MAX_VOCAB = 262_144;
export { ATTENTION_MAX_HEAD_DIM, ROSA_MAX_BITS };

// ── Task ────────────────────────────────────────────────────────────────────────────────────

const seqLen = int(8, MAX_SEQ_LEN, 256, {
  label: 'Sequence length',
  help: 'tokens per training sequence',
  unit: 'tokens',
});

export const NIAH_FILLERS = ['letters', 'random', 'repeat', 'copy', 'corpus'] as const;

const niahTask = z.strictObject({
  kind: z.literal('niah'),
  seqLen,
  keyLength: int(1, 8, 2, { label: 'Key digits', help: 'digits of the passkey the model must repeat' }),
  filler: choice(NIAH_FILLERS, 'random', {
    label: 'Filler',
    help: 'what the haystack around the needle is made of',
    labels: {
      letters: 'random letters (key is the only number)',
      random: 'random letters and digits',
      repeat: 'repeated sentences (passkey paper)',
      copy: 'a repeated random segment',
      corpus: 'Moby Dick text',
    },
  }),
  corpus: z.optional(
    choice(['moby-dick'], 'moby-dick', {
      label: 'Corpus',
      help: 'the text a corpus filler draws from',
    }),
  ),
  loss: z.optional(
    choice(['answer', 'all'], 'answer', {
      label: 'Loss on',
      help: 'accuracy always scores the key',
      labels: { answer: 'the answer only', all: 'every next token' },
    }),
  ),
  tokenizer: z.optional(
    choice(['chars', 'base'], 'chars', {
      label: 'Tokens',
      help: 'the task\'s characters with ⟨K⟩/⟨Q⟩ markers, or the base model\'s tokenizer: "The pass key is 7." in natural text (filler corpus or repeat; needs a Hugging Face base model)',
      labels: { chars: 'characters', base: "the base model's tokenizer" },
    }),
  ),
});

const mqarTask = z.strictObject({
  kind: z.literal('mqar'),
  seqLen,
  vocabSize: int(8, MAX_SEQ_LEN, 64, { label: 'Vocabulary', help: 'distinct tokens of the task' }),
  pairs: int(1, MAX_SEQ_LEN, 8, { label: 'Key–value pairs', help: 'pairs stated before the queries' }),
  gaps: choice(['power', 'uniform'], 'power', {
    label: 'Query gaps',
    help: 'how far back each query’s pair lies',
    labels: { power: 'power law (Zoology)', uniform: 'uniform' },
  }),
  randomFiller: bool(false, { label: 'Random filler', help: 'random filler tokens between the queries' }),
});

export const MAX_USER_TEXT = 20 * 2 ** 20;

const textTask = z.strictObject({
  kind: z.literal('text'),
  seqLen,
  source: choice(['moby-dick', 'user'], 'moby-dick', {
    label: 'Text source',
    help: 'the bundled public-domain novel or your own text',
  }),
  text: z.optional(
    text(MAX_USER_TEXT, '', {
      label: 'Your text',
      help: 'the corpus of a user text task; stays in this browser and is never put in links',
    }),
  ),
  name: z.optional(text(200, 'text', { label: 'Text name', help: 'file name of the user text' })),
  repeat: z.optional(
    int(0, MAX_SEQ_LEN / 2, 0, {
      label: 'Repeated passage',
      help: 'each sequence ends with a copy of its first this many characters: a loss only long context can lower (0: plain text)',
      unit: 'characters',
    }),
  ),
  tokenizer: z.optional(
    choice(['chars', 'base'], 'chars', {
      label: 'Tokens',
      help: "the text's characters, or the base model's tokenizer (its tokenizer.json; needs a Hugging Face base model)",
      labels: { chars: 'characters', base: "the base model's tokenizer" },
    }),
  ),
});

const inductionTask = z.strictObject({
  kind: z.literal('induction'),
  seqLen,
  vocabSize: int(2, MAX_SEQ_LEN, 64, { label: 'Vocabulary', help: 'distinct tokens of the task' }),
  segment: int(2, MAX_SEQ_LEN / 2, 32, {
    label: 'Segment length',
    help: 'the repeated segment; the copy needs to look this far back',
    unit: 'tokens',
  }),
});

export const taskSchema = z.discriminatedUnion('kind', [niahTask, mqarTask, textTask, inductionTask], {
  error: (iss) =>
    iss.code === 'invalid_union'
      ? 'must be one of niah, mqar, text, induction'
      : iss.code === 'invalid_type'
        ? `must be an object of settings (got ${shown(iss.input)})`
        : undefined,
});
export const TASK_SCHEMAS = { niah: niahTask, mqar: mqarTask, text: textTask, induction: inductionTask };
export type TaskSpec = z.infer<typeof taskSchema>;
export type TaskKind = TaskSpec['kind'];
export const TASK_KINDS: TaskKind[] = ['niah', 'mqar', 'text', 'induction'];

// ── Model ───────────────────────────────────────────────────────────────────────────────────

export const VARIANTS = ['global', 'window', 'window+rosa', 'lrsa', 'lrsa+rosa'] as const;
export type Variant = (typeof VARIANTS)[number];
export const variantHasRosa = (v: Variant) => v === 'window+rosa' || v === 'lrsa+rosa';
export const variantHasLrsa = (v: Variant) => v === 'lrsa' || v === 'lrsa+rosa';
export const ROSA_SEMANTICS = ['rosa-tuning', 'exact', 'rwkv8'] as const;
export const ROSA_QK = ['independent', 'tied-init', 'shared'] as const;

const rosaOnly = { applies: 'rosa' } as const;

/** A sigmoid temperature of the counterfactual surrogate (one each for q, k and v bits). */
const temperature = (route: string, bits: string) =>
  num(0, 1000, 1, {
    ...rosaOnly,
    openMin: true,
    label: `${route} temperature`,
    help: `sigmoid temperature of the ${bits} bits in the counterfactual gradient`,
    paper: 1,
  });

export const rosaSchema = z.strictObject(
  {
    bits: int(1, ROSA_MAX_BITS, 4, {
      ...rosaOnly,
      label: 'ROSA bits',
      help: 'bits per route: each route turns bits channels into one symbol of 2^bits; routes = width / bits',
      paper: 4,
    }),
    semantics: choice(ROSA_SEMANTICS, 'rosa-tuning', {
      ...rosaOnly,
      label: 'ROSA semantics',
      help: 'which past position a query retrieves',
      paper: 'rosa-tuning',
      labels: {
        'rosa-tuning': 'rosa-tuning: the key run the query’s context last matched (paper)',
        exact: 'exact: the longest earlier suffix match, its next position',
        rwkv8: 'rwkv8: BlinkDL’s per-token rule (one symbol stream matches its own past)',
      },
    }),
    layers: z.optional(
      intList(0, MAX_LAYERS - 1, [], {
        ...rosaOnly,
        label: 'ROSA layers',
        help: 'layers with an adapter; absent: every layer that is not global',
      }),
    ),
    tempQ: temperature('Q', 'query'),
    tempK: temperature('K', 'key'),
    tempV: temperature('V', 'value'),
    vProbContrast: bool(true, {
      ...rosaOnly,
      label: 'Soft V in contrasts',
      help: 'use σ(T_V·v) rather than the hard bits as the value in the Q and K contrasts',
      paper: true,
    }),
    eInit: num(0, 10, 0, {
      ...rosaOnly,
      label: 'ROSA e init',
      help: 'start the injection as a ±x code of the retrieved bits (e1 = +x, e0 = −x); 0 starts it at exactly zero',
      paper: 0,
    }),
    projectionLrScale: num(0, 100, 1, {
      ...rosaOnly,
      label: 'Wq/Wk/Wv rate',
      help: 'learning rate of the ROSA projections relative to the adapter’s (0 freezes them)',
      unit: '× ROSA rate',
      paper: 1,
    }),
    qk: choice(ROSA_QK, 'independent', {
      ...rosaOnly,
      label: 'ROSA q/k projections',
      help: 'how the query and key projections relate',
      paper: 'independent',
      labels: {
        independent: 'independent, each Xavier (paper)',
        'tied-init': 'tied at initialisation',
        shared: 'one shared projection (a stream matches its own past)',
      },
    }),
  },
  objectError,
);
export type RosaConfig = z.infer<typeof rosaSchema>;
export type RosaSemantics = RosaConfig['semantics'];
export type RosaQk = RosaConfig['qk'];

const lrsaOnly = { applies: 'lrsa' } as const;

export const lrsaSchema = z.strictObject(
  {
    sink: int(0, 1024, 4, {
      ...lrsaOnly,
      label: 'LRSA sink',
      help: 'first tokens every query always sees',
      unit: 'tokens',
    }),
    chunk: int(2, 4096, 32, {
      ...lrsaOnly,
      label: 'LRSA chunk',
      help: 'older keys are scored in chunks of this size',
      unit: 'tokens',
    }),
    ratio: num(0, 1, 0.25, {
      ...lrsaOnly,
      openMin: true,
      label: 'LRSA keep ratio',
      help: 'share of each older chunk LagKV keeps',
    }),
    scoreVRatio: num(0, 100, 1, {
      ...lrsaOnly,
      label: 'LagKV value weight',
      help: 'score = key score + this × value score',
    }),
  },
  objectError,
);
export type LrsaConfig = z.infer<typeof lrsaSchema>;

export const modelSchema = z.strictObject(
  {
    vocabSize: int(2, MAX_VOCAB, 97, { label: 'Vocabulary', help: 'set from the task' }),
    seqLen,
    layers: int(1, MAX_LAYERS, 2, { label: 'Layers', help: 'decoder blocks' }),
    width: int(4, 4096, 64, { label: 'Width', help: 'model dimension C' }),
    heads: int(1, 64, 2, {
      label: 'Heads',
      help: `attention heads; width / heads ≤ ${ATTENTION_MAX_HEAD_DIM}, even (unless head size is set)`,
    }),
    // Optional so that a spec without it (every preset and checkpoint before it) keeps its
    // configuration fingerprint and its meaning.
    headDim: z.optional(
      int(0, ATTENTION_MAX_HEAD_DIM, 0, {
        label: 'Head size',
        help: 'channels per attention head, even; q/k/v project to heads · head size channels (Qwen3: 128 at width 1024 with 16 heads); 0 or absent: width / heads',
      }),
    ),
    kvHeads: int(0, 64, 0, {
      label: 'Key/value heads',
      help: 'grouped-query attention: key/value heads, each shared by heads / kvHeads query heads (0: as many as heads)',
    }),
    qkNorm: bool(false, {
      label: 'q/k norm',
      help: 'RMSNorm of every query and key head before RoPE, with learned weights per channel (Qwen3)',
    }),
    attnBias: bool(false, {
      label: 'q/k/v biases',
      help: 'learned biases on the query, key and value projections (Qwen2)',
    }),
    tiedHead: bool(true, {
      label: 'Tied head',
      help: 'the output head is the embedding matrix; off: a separate output matrix (lm_head)',
    }),
    mlpHidden: int(1, 16384, 176, {
      label: 'MLP width',
      help: 'hidden width of the SwiGLU MLP (default ≈ 8/3 · width)',
    }),
    window: int(1, MAX_SEQ_LEN, 32, {
      applies: 'window',
      label: 'Window W',
      help: 'keys t−W+1 … t',
      unit: 'tokens',
    }),
    globalLayers: intList(0, MAX_LAYERS - 1, [], {
      label: 'Global layers',
      help: 'layers that keep global attention whatever the variant (the paper keeps layer 0 global)',
    }),
    variant: choice(VARIANTS, 'window+rosa', {
      label: 'Variant',
      help: 'attention of the model',
      labels: {
        global: 'full causal attention (the upper bound)',
        window: 'sliding-window attention only (sees W tokens back)',
        'window+rosa': 'window plus ROSA retrieval from the whole past',
        lrsa: 'window plus LagKV-selected tokens of older chunks',
        'lrsa+rosa': 'LRSA plus ROSA retrieval',
      },
    }),
    ropeBase: num(1, 1e9, 10000, { label: 'RoPE base', help: 'rotary embedding base θ' }),
    normEps: num(0, 1, 1e-6, { openMin: true, label: 'RMSNorm ε', help: 'added to the mean square' }),
    rosa: rosaSchema,
    lrsa: lrsaSchema,
  },
  objectError,
);
export type ModelConfig = z.infer<typeof modelSchema>;

// ── Training ────────────────────────────────────────────────────────────────────────────────

export const TRAINING_PROTOCOLS = ['all', 'adapter-only', 'two-stage'] as const;
export type TrainingProtocol = (typeof TRAINING_PROTOCOLS)[number];
const MAX_STEPS = 10_000_000;
/** Seeds per variant at most: each is a whole run. */
export const MAX_REPEATS = 10;

export const trainSchema = z.strictObject(
  {
    steps: int(1, MAX_STEPS, 500, { label: 'Steps', help: 'optimizer steps', unit: 'steps' }),
    batchSize: int(1, 4096, 8, { label: 'Batch size', help: 'sequences per step' }),
    microBatches: int(1, 64, 1, {
      label: 'Micro-batches',
      help: 'parts each batch is split into; their passes interleave, so that one part’s ROSA scan runs on the CPU while the GPU (or this thread) works on another, and their gradients add up to the whole batch’s. Must divide the batch size',
    }),
    lr: num(0, 1, 3e-3, { label: 'Learning rate', help: 'peak rate of the base model (protocol all)' }),
    rosaLr: num(0, 1, 3e-3, {
      applies: 'rosa',
      label: 'ROSA learning rate',
      help: 'peak rate of the adapter (Wq, Wk, Wv, W_out, e0, e1)',
      paper: 1e-4,
    }),
    baseLr: num(0, 1, 1e-4, {
      applies: 'two-stage',
      label: 'Base rate in stage B',
      help: 'peak rate of the base model in the second stage of two-stage tuning, usually far below the adapter’s',
      paper: 5e-6,
    }),
    minLrFactor: num(0, 1, 0.1, {
      label: 'Final rate',
      help: 'the cosine schedule ends at the peak rate times this',
    }),
    warmupSteps: int(0, MAX_STEPS, 20, {
      label: 'Warm-up steps',
      help: 'linear learning-rate warm-up',
      unit: 'steps',
    }),
    lengthWarmup: int(0, MAX_STEPS, 0, {
      label: 'Length warm-up',
      help: 'steps from 16-token sequences up to full length, doubling (0: off)',
      unit: 'steps',
    }),
    weightDecay: num(0, 10, 0.01, { label: 'Weight decay', help: 'decoupled (AdamW), on matrices only' }),
    beta1: num(0, 0.9999999, 0.9, { label: 'Adam β1', help: 'first-moment decay, in [0, 1)' }),
    beta2: num(0, 0.9999999, 0.98, { label: 'Adam β2', help: 'second-moment decay, in [0, 1)' }),
    eps: num(0, 1, 1e-8, { openMin: true, label: 'Adam ε', help: 'added to the root of the second moment' }),
    gradClip: num(0, 1e6, 1, { label: 'Gradient clip', help: 'global-norm clip (0: off)' }),
    protocol: choice(TRAINING_PROTOCOLS, 'all', {
      label: 'Protocol',
      help: 'which parameters train',
      labels: {
        all: 'train everything',
        'adapter-only': 'adapter only (frozen base)',
        'two-stage': 'two-stage (adapter, then all)',
      },
    }),
    stageASteps: int(0, MAX_STEPS, 100, {
      applies: 'two-stage',
      label: 'Stage A steps',
      help: 'adapter-only steps before everything trains',
      unit: 'steps',
    }),
    evalEvery: int(0, MAX_STEPS, 50, {
      label: 'Evaluate every',
      help: 'steps between evaluations (0: never)',
      unit: 'steps',
    }),
    evalBatches: int(1, 10_000, 4, { label: 'Eval batches', help: 'validation batches per evaluation' }),
    checkpointEvery: int(0, MAX_STEPS, 0, {
      label: 'Checkpoint every',
      help: 'steps between checkpoints (0: never)',
      unit: 'steps',
    }),
    seed: int(0, 2 ** 31 - 1, 1, { label: 'Seed', help: 'same data and initialisation for every variant' }),
    repeats: int(1, MAX_REPEATS, 1, {
      label: 'Repeats (seeds)',
      help: 'runs of each variant, with seeds seed, seed + 1, …; curves show their mean and min–max band, results mean ± spread',
      unit: 'seeds',
    }),
  },
  objectError,
);
export type TrainConfig = z.infer<typeof trainSchema>;

export const BACKEND_KINDS = ['webgpu', 'cpu'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];
export const backendSchema = choice(BACKEND_KINDS, 'webgpu', {
  label: 'Backend',
  help: 'where the model runs',
  labels: { webgpu: 'WebGPU', cpu: 'CPU (slow, no GPU needed)' },
});

// Optional WebGPU features (src/gpu/features.ts): used where the device has them, unless off.
export const FEATURE_MODES = ['auto', 'off'] as const;
export type FeatureMode = (typeof FEATURE_MODES)[number];
export const gpuSchema = z.strictObject(
  {
    subgroups: choice(FEATURE_MODES, 'auto', {
      label: 'Subgroups',
      help: 'WebGPU backend: RMSNorm sums rows with subgroup operations where the adapter offers them (auto), or through workgroup memory (off)',
      labels: { auto: 'where offered', off: 'off' },
    }),
    // Off by default: f16 tiles round every forward product's inputs to ~3 digits, which
    // changes results (the CPU backend and f32 kernels agree to ~1e-6).
    f16: choice(FEATURE_MODES, 'off', {
      label: 'f16 matrix tiles',
      help: 'WebGPU backend: forward linear layers hold their shared-memory tiles in f16 (inputs rounded to about 3 digits, sums in f32) where the adapter offers shader-f16 (auto), or stay in f32 (off)',
      labels: { auto: 'where offered', off: 'off' },
    }),
  },
  objectError,
);
export type GpuOptions = z.infer<typeof gpuSchema>;

// A count, not 'auto': a spec says what it ran on, and the results do not depend on it (the
// threaded matmuls give the same bits as one thread), only the speed does.
export const MAX_CPU_THREADS = 64;
export const cpuSchema = z.strictObject(
  {
    threads: int(1, MAX_CPU_THREADS, 1, {
      label: 'CPU threads',
      help: 'CPU backend: threads sharing the large matmuls and the attention (the calling one and threads − 1 workers); more than one needs shared memory (in a browser, a cross-origin isolated page), else one is used',
      unit: 'threads',
    }),
  },
  objectError,
);
export type CpuOptions = z.infer<typeof cpuSchema>;

// ── Runs and presets ────────────────────────────────────────────────────────────────────────

const fromField = text(500, '', {
  label: 'Start from',
  help: 'another run’s checkpoint: its base weights are copied by name, new parameters start fresh',
});
const evalOnlyField = bool(false, {
  label: 'Evaluate only',
  help: 'evaluate the weights under this variant without training',
});

const runName = (what: string, min: number) =>
  z
    .string({ error: `must be a string (${what})` })
    .check(
      z.minLength(min, { error: `must not be empty (${what})` }),
      z.maxLength(500, { error: `must be at most 500 characters (${what})` }),
    );

export const runSpecSchema = z.strictObject(
  {
    id: runName('the run id', 1),
    name: runName('shown in legends', 0),
    task: taskSchema,
    model: modelSchema,
    train: trainSchema,
    backend: backendSchema,
    /** WebGPU feature choices; absent means every default. */
    gpu: z.optional(gpuSchema),
    /** CPU backend choices; absent means every default. */
    cpu: z.optional(cpuSchema),
    /** A checkpoint key whose weights this run starts from. */
    from: z.optional(fromField),
    evalOnly: z.optional(evalOnlyField),
  },
  objectError,
);
export type RunSpec = z.infer<typeof runSpecSchema>;

/** A partial model: every field optional, nested ROSA/LRSA too. */
export const modelOverridesSchema = z.partial(
  z.extend(modelSchema, { rosa: z.optional(z.partial(rosaSchema)), lrsa: z.optional(z.partial(lrsaSchema)) }),
);
export type ModelOverrides = z.infer<typeof modelOverridesSchema>;
export const trainOverridesSchema = z.partial(trainSchema);

export const presetVariantSchema = z.strictObject({
  name: z
    .string()
    .check(z.minLength(1), z.maxLength(100))
    .register(z.globalRegistry, { title: 'Name', description: 'shown in legends and file names' }),
  variant: modelSchema.shape.variant,
  /** An earlier variant of the same preset, or a checkpoint path. */
  from: z.optional(fromField),
  evalOnly: z.optional(evalOnlyField),
  model: z.optional(modelOverridesSchema),
  train: z.optional(trainOverridesSchema),
});
export type PresetVariant = z.infer<typeof presetVariantSchema>;

const presetTaskSchema = z.discriminatedUnion('kind', [
  z.required(z.partial(niahTask), { kind: true }),
  z.required(z.partial(mqarTask), { kind: true }),
  z.required(z.partial(textTask), { kind: true }),
  z.required(z.partial(inductionTask), { kind: true }),
]);

/** A whole number in [min, max], with zod's own messages (the evaluation settings of presets). */
const wholeNumber = (min: number, max: number) => z.number().check(z.int(), z.minimum(min), z.maximum(max));

export const presetSchema = z.strictObject({
  $schema: z.optional(z.string()),
  name: z.string().check(z.minLength(1), z.maxLength(100)),
  description: z.string().check(z.maxLength(2000)),
  task: presetTaskSchema,
  model: z._default(modelOverridesSchema, {}),
  train: z._default(trainOverridesSchema, {}),
  variants: z.array(presetVariantSchema).check(z.minLength(1, { error: 'must list at least one variant' })),
  evaluation: z.optional(
    z.strictObject({
      /** NIAH: exact-match accuracy with the needle this many tokens before the query. */
      niahDistances: z.optional(z.array(wholeNumber(1, MAX_SEQ_LEN))),
      niahSamples: z.optional(wholeNumber(1, 100_000)),
      niahGrid: z.optional(
        z.strictObject({
          lengths: z.array(wholeNumber(8, MAX_SEQ_LEN)),
          depths: z.array(z.number().check(z.minimum(0), z.maximum(1))),
          samples: wholeNumber(1, 100_000),
        }),
      ),
      /** Text tasks: loss and perplexity on the positions only long context can predict. */
      longContextLoss: z.optional(z.boolean()),
    }),
  ),
});
export type ExperimentPreset = z.infer<typeof presetSchema>;
