// Writes the playground side of the interop fixtures: each model of test/interop/seeded-model.ts
// exported as a Hugging Face folder under test/fixtures/hf/<name>/. Then
// `python3 scripts/make-hf-fixtures.py` adds the logits transformers computes for each.
//   npx tsx scripts/make-playground-fixtures.ts

import { join } from 'node:path';
import { writeFolder } from '../cli/model-files.ts';
import { exportHuggingFace } from '../src/interop/hf-export.ts';
import {
  FIXTURE_CHARS,
  FIXTURE_MODELS,
  fixtureConfig,
  seededParameters,
} from '../test/interop/seeded-model.ts';

for (const { name, seed, overrides } of FIXTURE_MODELS) {
  const config = fixtureConfig(overrides);
  const files = exportHuggingFace({
    config,
    parameters: seededParameters(config, seed),
    tokens: FIXTURE_CHARS,
    source: { run: name, step: 0 },
  });
  const dir = join('test', 'fixtures', 'hf', name);
  await writeFolder(dir, files);
  console.log(`wrote ${dir}: ${Object.keys(files).join(', ')}`);
}
