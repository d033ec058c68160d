// `npm run schema`: writes presets/schema.json from the settings schema (a test checks it is
// current), laid out by the project's formatter so `biome check` stays clean.
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { presetJsonSchemaText } from '../src/config/json-schema.ts';

const path = fileURLToPath(new URL('../presets/schema.json', import.meta.url));
await writeFile(path, presetJsonSchemaText());
execFileSync('npx', ['biome', 'format', '--write', path], { stdio: 'ignore' });
process.stderr.write('wrote presets/schema.json\n');
