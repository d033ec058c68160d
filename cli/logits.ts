// `npm run logits -- <checkpoint or Hugging Face folder> --tokens 1,2,3 [--variant window --window 16]
//   [--model.<setting> value …]`
// Runs the model on the CPU backend and prints its logits as JSON: one row per position, row t
// being the prediction after tokens 0 … t. --variant (and any model setting) evaluates the same
// weights under other attention; parameters the new variant adds (a ROSA adapter) start fresh,
// which with e0 = e1 = 0 changes nothing.

import { VARIANTS, type Variant } from '../src/config/schema.ts';
import type { ModelConfig } from '../src/gpu/model/config.ts';
import { parameterSpecs } from '../src/gpu/model/params.ts';
import { transplantParameters } from '../src/gpu/model/transplant.ts';
import { cpuLogits, logitRows } from '../src/interop/cpu-logits.ts';
import { parseArgs, settingsPatch, UsageError } from './args.ts';
import { loadModel } from './model-files.ts';

const USAGE =
  'usage: npm run logits -- <KEY.json | KEY.safetensors | HF folder> --tokens 1,2,3 [--variant window] [--window 16]';

function parseTokens(raw: string | undefined): number[] {
  if (!raw) throw new UsageError(`--tokens is required; ${USAGE}`);
  const tokens = raw.split(',').map((s) => Number(s.trim()));
  if (tokens.some((t) => !Number.isInteger(t) || t < 0))
    throw new UsageError(`--tokens: "${raw}" is not a list of token ids`);
  return tokens;
}

function withOverrides(
  config: ModelConfig,
  variant: string | undefined,
  patch: Partial<ModelConfig>,
): ModelConfig {
  if (variant !== undefined && !VARIANTS.includes(variant as Variant))
    throw new UsageError(`--variant must be one of ${VARIANTS.join(', ')} (got "${variant}")`);
  return {
    ...config,
    ...patch,
    ...(variant ? { variant: variant as Variant } : {}),
    rosa: { ...config.rosa, ...patch.rosa },
    lrsa: { ...config.lrsa, ...patch.lrsa },
  };
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const path = argv[0] && !argv[0].startsWith('--') ? argv[0] : undefined;
  if (!path) throw new UsageError(USAGE);
  const args = parseArgs(argv.slice(1), ['tokens', 'variant']);
  if (args.errors.length > 0)
    throw new UsageError(args.errors.map((e) => `${e.field} ${e.message}`).join('; '));
  const patch = settingsPatch(args.settings);
  if (Object.keys(patch.task).length > 0 || Object.keys(patch.train).length > 0 || patch.backend)
    throw new UsageError('only model settings apply to logits');
  const tokens = parseTokens(args.options.get('tokens'));
  const loaded = await loadModel(path);
  const config = withOverrides(
    loaded.config,
    args.options.get('variant'),
    patch.model as Partial<ModelConfig>,
  );
  const sameParameters = parameterSpecs(config).every((s) => loaded.parameters.has(s.name));
  const parameters = sameParameters ? loaded.parameters : transplantParameters(loaded.parameters, config, 1);
  const logits = await cpuLogits(config, parameters, tokens);
  process.stderr.write(
    `logits: ${loaded.description}, variant ${config.variant}, ${tokens.length} tokens, CPU backend\n`,
  );
  process.stdout.write(`${JSON.stringify(logitRows(logits, config.vocabSize))}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const e = err as Error;
    const known = ['UsageError', 'CheckpointError', 'HfImportError', 'TransplantError'];
    process.stderr.write(`logits: ${known.includes(e.name) ? e.message : (e.stack ?? String(err))}\n`);
    process.exit(known.includes(e.name) ? 2 : 1);
  },
);
