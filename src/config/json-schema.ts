// presets/schema.json, generated from the settings schema: presets point at it with "$schema",
// so an editor completes and checks them with the same limits and help as the page.

import * as z from 'zod/mini';
import { jsonSchemaRegistry } from './fields.ts';
import { presetSchema } from './schema.ts';

export function presetJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(presetSchema, {
    metadata: jsonSchemaRegistry,
    // Presets are read, so the schema describes what a file may contain.
    io: 'input',
    unrepresentable: 'any',
  });
  return {
    ...schema,
    title: 'ROSA Playground experiment preset',
    description:
      'A task, a base model, the variants to compare on the same data and seed, training and evaluation.',
  };
}

export function presetJsonSchemaText(): string {
  return `${JSON.stringify(presetJsonSchema(), null, 2)}\n`;
}
