// Ready-made experiments: small plain objects merged over the default draft.

import { DEFAULT_DRAFT, type ExperimentDraft } from './config/draft.ts';

export interface Preset {
  id: string;
  name: string;
  /** One line on what it shows and roughly how long it takes. */
  description: string;
  draft: Partial<ExperimentDraft>;
}

export const PRESETS: Preset[] = [
  {
    id: 'niah-tiny',
    name: 'NIAH: window vs ROSA vs global (tiny)',
    description:
      'A 2-digit passkey hidden in 256 random characters. The 32-token window cannot see it; ROSA and global attention can. A few minutes on a laptop GPU.',
    draft: {
      task: 'niah',
      seqLen: '256',
      keyLength: '2',
      filler: 'random',
      variants: ['window', 'window+rosa', 'global'],
      layers: '2',
      width: '64',
      heads: '2',
      mlpHidden: '176',
      window: '32',
      bits: '4',
      semantics: 'rosa-tuning',
      steps: '600',
      batchSize: '8',
      lr: '0.003',
      rosaLr: '0.003',
      warmupSteps: '20',
      evalEvery: '50',
      seed: '1',
    },
  },
  {
    id: 'mqar',
    name: 'MQAR: associative recall',
    description:
      '8 key–value pairs, then queries at power-law distances. Recall beyond the 16-token window needs retrieval.',
    draft: {
      task: 'mqar',
      seqLen: '128',
      taskVocab: '64',
      pairs: '8',
      gaps: 'power',
      randomFiller: false,
      variants: ['window', 'window+rosa', 'global'],
      layers: '2',
      width: '64',
      heads: '2',
      mlpHidden: '176',
      window: '16',
      bits: '4',
      steps: '800',
      batchSize: '16',
      lr: '0.003',
      rosaLr: '0.003',
      evalEvery: '50',
      seed: '1',
    },
  },
  {
    id: 'moby-dick',
    name: 'Moby Dick char LM',
    description:
      'Character-level language modelling on Moby Dick; the per-position loss shows where long context helps.',
    draft: {
      task: 'text',
      textSource: 'moby-dick',
      seqLen: '256',
      variants: ['window', 'window+rosa', 'global'],
      layers: '3',
      width: '96',
      heads: '3',
      mlpHidden: '256',
      window: '32',
      bits: '4',
      steps: '1000',
      batchSize: '8',
      lr: '0.003',
      rosaLr: '0.003',
      evalEvery: '100',
      seed: '1',
    },
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
      variants: ['window', 'window+rosa', 'global'],
      layers: '2',
      width: '64',
      heads: '2',
      mlpHidden: '176',
      window: '16',
      bits: '4',
      steps: '500',
      batchSize: '8',
      lr: '0.003',
      rosaLr: '0.003',
      evalEvery: '50',
      seed: '1',
    },
  },
  {
    id: 'lrsa-niah',
    name: 'NIAH: LRSA vs LRSA+ROSA',
    description:
      'Chunk selection (LagKV) against chunk selection plus ROSA retrieval on the tiny passkey task.',
    draft: {
      task: 'niah',
      seqLen: '256',
      keyLength: '2',
      variants: ['lrsa', 'lrsa+rosa', 'window+rosa'],
      layers: '2',
      width: '64',
      heads: '2',
      mlpHidden: '176',
      window: '32',
      lrsaSink: '4',
      lrsaChunk: '32',
      lrsaRatio: '0.25',
      steps: '600',
      batchSize: '8',
      evalEvery: '50',
      seed: '1',
    },
  },
];

export function applyPreset(preset: Preset, base: ExperimentDraft = DEFAULT_DRAFT): ExperimentDraft {
  return { ...DEFAULT_DRAFT, userText: base.userText, userTextName: base.userTextName, ...preset.draft };
}
