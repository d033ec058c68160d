// `npm run schema`: writes presets/schema.json from the settings schema (a test checks it is current).
import { writeFile } from 'node:fs/promises';
import { presetJsonSchemaText } from '../src/config/json-schema.ts';

await writeFile(new URL('../presets/schema.json', import.meta.url), presetJsonSchemaText());
process.stderr.write('wrote presets/schema.json\n');
