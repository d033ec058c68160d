// JSON from files we did not write: bound its nesting before parsing, because a file of
// 20 000 nested brackets parses fine but then overflows the stack of whatever walks it
// recursively (JSON.stringify, structured clone, validation).

import { CheckpointError } from './errors.ts';

/** Deep enough for any file we write (the manifest nests about 5 levels). */
export const MAX_JSON_DEPTH = 32;

/** Throws CheckpointError when `text` nests objects or arrays deeper than `maxDepth`. */
export function checkJsonDepth(text: string, fileName: string, maxDepth = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) {
        throw new CheckpointError(`${fileName}: JSON nested more than ${maxDepth} levels deep`);
      }
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
}

/** JSON.parse with the depth bound; a CheckpointError names the file either way. */
export function parseJsonBounded(text: string, fileName: string, what = 'the file'): unknown {
  checkJsonDepth(text, fileName);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(`${fileName}: ${what} is not valid JSON (${(err as Error).message})`);
  }
}
