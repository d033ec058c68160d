// `npm run export -- --checkpoint <KEY.json or KEY.safetensors> --out <dir>`
// Writes a Hugging Face folder (docs/interop.md): config.json + model.safetensors for
// transformers (Llama, Mistral or Ministral, by the model's attention), the vocabulary as
// tokenizer files, and the ROSA adapter in its own files when the model has one.

import { exportHuggingFace } from '../src/interop/hf-export.ts';
import { baseTokenizerJson, taskTokens } from '../src/interop/task-tokens.ts';
import { loadCorpusNode } from '../src/tasks/corpus-node.ts';
import { parseArgs, UsageError } from './args.ts';
import { loadModel, writeFolder } from './model-files.ts';

const USAGE = 'usage: npm run export -- --checkpoint <KEY.json or KEY.safetensors> --out <dir>';

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2), ['checkpoint', 'out']);
  if (args.settings.size > 0 || args.errors.length > 0)
    throw new UsageError(`settings flags do not apply here; ${USAGE}`);
  const checkpoint = args.options.get('checkpoint');
  const out = args.options.get('out');
  if (!checkpoint || !out) throw new UsageError(USAGE);
  const loaded = await loadModel(checkpoint);
  if (!loaded.manifest) throw new UsageError(`${checkpoint} is not a playground checkpoint`);
  const tokenizerJson = baseTokenizerJson(loaded.manifest);
  const tokens =
    tokenizerJson === undefined
      ? await taskTokens(loaded.manifest.spec, async (name) => loadCorpusNode(name))
      : null;
  if (!tokens && tokenizerJson === undefined)
    process.stderr.write('export: the task vocabulary does not match the model; no tokenizer files\n');
  const files = exportHuggingFace({
    config: loaded.config,
    parameters: loaded.parameters,
    tokens: tokens ?? undefined,
    tokenizerJson,
    source: { run: loaded.manifest.spec.id, step: loaded.manifest.step },
  });
  await writeFolder(out, files);
  const architecture = (JSON.parse(files['config.json'] as string) as { architectures: string[] })
    .architectures[0];
  process.stderr.write(
    `export: ${loaded.description} → ${out} (${architecture}; ${Object.keys(files).join(', ')})\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const e = err as Error;
    const known = ['UsageError', 'CheckpointError', 'HfExportError', 'HfImportError', 'TaskConfigError'];
    process.stderr.write(`export: ${known.includes(e.name) ? e.message : (e.stack ?? String(err))}\n`);
    process.exit(known.includes(e.name) ? 2 : 1);
  },
);
