// Ready-made experiments for the setup form. Most come from the project's experiment presets
// (presets/*.json, the same files the command line runs), so the page and the CLI train the
// same thing; each becomes a small plain object of form values merged over the defaults.

import lrsaCompare from '../../presets/lrsa-compare.json';
import mqar from '../../presets/mqar.json';
import niahCompare from '../../presets/niah-compare.json';
import niahCompareSmall from '../../presets/niah-compare-small.json';
import niahQuick from '../../presets/niah-quick.json';
import text from '../../presets/text.json';
import type { Variant } from '../gpu/model/config.ts';
import type { ExperimentPreset } from '../gpu/train/preset.ts';
import { DEFAULT_DRAFT, type ExperimentDraft } from './config/draft.ts';

export interface Preset {
  id: string;
  name: string;
  /** One line on what it shows and roughly how long it takes. */
  description: string;
  draft: Partial<ExperimentDraft>;
}

const str = (x: number | undefined): string | undefined => (x === undefined ? undefined : String(x));

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Form values of an experiment preset (per-variant model overrides are not representable and are left out). */
export function draftFromPreset(p: ExperimentPreset): Partial<ExperimentDraft> {
  const t = p.task;
  const m = p.model;
  const tr = p.train;
  const task: Partial<ExperimentDraft> =
    t.kind === 'niah'
      ? { task: 'niah', keyLength: str(t.keyLength), filler: t.filler, niahLoss: t.loss ?? 'answer' }
      : t.kind === 'mqar'
        ? {
            task: 'mqar',
            taskVocab: str(t.vocabSize),
            pairs: str(t.pairs),
            gaps: t.gaps,
            randomFiller: t.randomFiller,
          }
        : t.kind === 'induction'
          ? { task: 'induction', taskVocab: str(t.vocabSize), segment: str(t.segment) }
          : { task: 'text', textSource: t.source, textRepeat: str(t.repeat) };
  return defined({
    ...task,
    seqLen: str(t.seqLen),
    variants: [...new Set(p.variants.map((v) => v.variant))],
    layers: str(m.layers),
    width: str(m.width),
    heads: str(m.heads),
    mlpHidden: str(m.mlpHidden),
    window: str(m.window),
    layer0Global: m.globalLayers ? m.globalLayers.includes(0) : undefined,
    bits: str(m.rosa?.bits),
    semantics: m.rosa?.semantics,
    qk: m.rosa?.qk,
    eInit: str(m.rosa?.eInit),
    projectionLrScale: str(m.rosa?.projectionLrScale),
    lrsaSink: str(m.lrsa?.sink),
    lrsaChunk: str(m.lrsa?.chunk),
    lrsaRatio: str(m.lrsa?.ratio),
    steps: str(tr.steps),
    batchSize: str(tr.batchSize),
    microBatches: str(tr.microBatches),
    lr: str(tr.lr),
    rosaLr: str(tr.rosaLr),
    baseLr: str(tr.baseLr),
    warmupSteps: str(tr.warmupSteps),
    lengthWarmup: str(tr.lengthWarmup),
    evalEvery: str(tr.evalEvery),
    evalBatches: str(tr.evalBatches),
    checkpointEvery: str(tr.checkpointEvery),
    protocol: tr.protocol,
    stageASteps: str(tr.stageASteps),
    seed: str(tr.seed),
    repeats: str(tr.repeats),
  });
}

/** The JSON files, typed (their shape is ExperimentPreset; TypeScript widens JSON literals). */
const fromJson = (json: unknown) => draftFromPreset(json as ExperimentPreset);

export const PRESETS: Preset[] = [
  {
    id: 'niah-compare',
    name: 'NIAH: window vs ROSA vs global (tiny)',
    description:
      "A one-character passkey hidden among 256 random letters and digits, 128 tokens (8 windows) before the question. Windowed attention cannot see it; ROSA and global attention can. ROSA uses BlinkDL-style settings (rwkv8, one shared q/k projection, 8 bits), which learn from scratch; the paper's do not here (see the README). A few minutes on a laptop GPU.",
    draft: fromJson(niahCompare),
  },
  {
    id: 'niah-compare-small',
    name: 'NIAH quick (48 tokens)',
    description:
      'The same comparison shrunk to 48 tokens with a 4-token window and the needle 32 tokens back: about a minute, even on the CPU backend.',
    draft: fromJson(niahCompareSmall),
  },
  {
    id: 'niah-quick',
    name: 'NIAH first look (1 minute)',
    description:
      'One small layer on 32 tokens, 60 steps per variant: about a minute for the three runs on a software adapter (SwiftShader) or the CPU backend. ROSA already finds a needle 16 tokens back; global attention needs longer (the 48-token preset).',
    draft: fromJson(niahQuick),
  },
  {
    id: 'mqar',
    name: 'MQAR: associative recall',
    description:
      '8 key–value pairs, then queries at uniform distances: how far beyond the 16-token window each variant recalls.',
    draft: fromJson(mqar),
  },
  {
    id: 'text',
    name: 'Moby Dick char LM',
    description:
      'Character-level language modelling on Moby Dick; the loss by position shows what each variant uses beyond its window.',
    draft: fromJson(text),
  },
  {
    id: 'lrsa-compare',
    name: 'LRSA vs window vs global (MQAR)',
    description:
      'LagKV chunk selection against windowed and global attention at a similar recent-token budget, with and without ROSA.',
    draft: fromJson(lrsaCompare),
  },
  {
    id: 'induction',
    name: 'Induction: copy a segment',
    description: 'A random 48-token segment repeated once; predicting the copy needs to look 48 tokens back.',
    draft: {
      task: 'induction',
      seqLen: '192',
      taskVocab: '32',
      segment: '48',
      variants: ['window', 'window+rosa', 'global'] satisfies Variant[],
      layers: '2',
      width: '64',
      heads: '2',
      mlpHidden: '128',
      window: '16',
      bits: '4',
      steps: '500',
      batchSize: '8',
      lr: '0.003',
      rosaLr: '0.003',
      warmupSteps: '30',
      evalEvery: '50',
      seed: '1',
    },
  },
];

/** The quick preset a software adapter (SwiftShader, llvmpipe) offers first. */
export const SOFTWARE_FIRST_PRESET = 'niah-quick';

/**
 * The presets in the order offered: on a software adapter the one that finishes in about a
 * minute there comes first (the default comparison takes tens of minutes on one).
 */
export function presetsFor(softwareAdapter: boolean): Preset[] {
  if (!softwareAdapter) return PRESETS;
  const quick = PRESETS.filter((p) => p.id === SOFTWARE_FIRST_PRESET);
  return [...quick, ...PRESETS.filter((p) => p.id !== SOFTWARE_FIRST_PRESET)];
}

export function applyPreset(preset: Preset, base: ExperimentDraft = DEFAULT_DRAFT): ExperimentDraft {
  return { ...DEFAULT_DRAFT, userText: base.userText, userTextName: base.userTextName, ...preset.draft };
}
