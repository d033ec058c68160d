// The experiment draft in the page's address (the hash), so a link reproduces the setup.
// Reading never throws: unknown choices become messages on their field, and numbers are
// kept as typed so that the validators explain what is wrong with them.

import type { FieldError } from '../../gpu/model/config.ts';
import { ROSA_SEMANTICS, VARIANTS, type Variant } from '../../gpu/model/config.ts';
import {
  BACKENDS,
  DEFAULT_DRAFT,
  type DraftKey,
  type ExperimentDraft,
  FIELD_OF,
  NIAH_FILLERS,
  PROTOCOLS,
  ROSA_QK,
  TASK_KINDS,
} from './draft.ts';

const CHOICES: Partial<Record<DraftKey, readonly string[]>> = {
  task: TASK_KINDS,
  filler: NIAH_FILLERS,
  niahLoss: ['answer', 'all'],
  qk: ROSA_QK,
  gaps: ['power', 'uniform'],
  textSource: ['moby-dick', 'user'],
  tokenizer: ['chars', 'base'],
  semantics: ROSA_SEMANTICS,
  protocol: PROTOCOLS,
  backend: BACKENDS,
};

const BOOLEANS: DraftKey[] = ['randomFiller', 'layer0Global', 'evalOnly'];
/** Never in the link: the user's text stays on their machine, a checkpoint key names nothing elsewhere. */
const PRIVATE: DraftKey[] = ['userText', 'from', 'evalOnly'];
const KEYS = Object.keys(DEFAULT_DRAFT) as DraftKey[];
const MAX_RAW = 64;

export function draftToParams(draft: ExperimentDraft): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of KEYS) {
    if (PRIVATE.includes(key)) continue;
    const value = draft[key];
    if (key === 'variants') params.set(key, (value as Variant[]).join(','));
    else if (typeof value === 'boolean') params.set(key, value ? '1' : '0');
    else params.set(key, String(value));
  }
  return params;
}

/** `#…` for the address bar. */
export function draftToHash(draft: ExperimentDraft): string {
  return `#${draftToParams(draft).toString()}`;
}

export interface ParsedDraft {
  draft: ExperimentDraft;
  /** Problems with the link itself (unknown choices), filed under the validator field names. */
  problems: FieldError[];
  /** True when the link carried any experiment settings. */
  fromLink: boolean;
}

function shown(raw: string): string {
  return raw.length > MAX_RAW ? `${raw.slice(0, MAX_RAW)}…` : raw;
}

/** Reads a draft from a hash or query string ("#a=1&b=2" or "?a=1"); missing keys keep their defaults. */
export function hashToDraft(hash: string, base: ExperimentDraft = DEFAULT_DRAFT): ParsedDraft {
  const params = new URLSearchParams(hash.replace(/^[#?]/, ''));
  const draft: ExperimentDraft = { ...base, variants: [...base.variants] };
  const problems: FieldError[] = [];
  let fromLink = false;
  const target = draft as unknown as Record<string, unknown>;
  for (const key of KEYS) {
    const raw = params.get(key);
    if (raw === null || PRIVATE.includes(key)) continue;
    fromLink = true;
    const field = FIELD_OF[key];
    if (key === 'variants') {
      const names = raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      const unknown = names.filter((n) => !VARIANTS.includes(n as Variant));
      if (unknown.length > 0) {
        problems.push({
          field,
          message: `the link names unknown variant(s) ${unknown.map((u) => `"${shown(u)}"`).join(', ')}; known: ${VARIANTS.join(', ')}`,
        });
      }
      draft.variants = [...new Set(names.filter((n): n is Variant => VARIANTS.includes(n as Variant)))];
    } else if (BOOLEANS.includes(key)) {
      if (raw === '1' || raw === 'true') target[key] = true;
      else if (raw === '0' || raw === 'false') target[key] = false;
      else problems.push({ field, message: `the link has "${shown(raw)}" here; expected 1 or 0` });
    } else if (CHOICES[key]) {
      const choices = CHOICES[key];
      if (choices.includes(raw)) target[key] = raw;
      else {
        problems.push({
          field,
          message: `the link has "${shown(raw)}", which is not one of ${choices.join(', ')}; kept ${String(target[key])}`,
        });
      }
    } else {
      target[key] = raw.slice(0, 1000);
    }
  }
  return { draft, problems, fromLink };
}
