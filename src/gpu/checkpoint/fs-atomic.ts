// Whole-or-nothing file writes in Node: the data goes to a temporary file beside the target,
// is flushed to disk, and only then renamed over the target. A crash or kill midway leaves
// the old file as it was (plus a stray temporary file, which readers ignore).

import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Temporary files end in this; stores skip them when listing. */
export const TEMP_SUFFIX = '.partial';

export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
  try {
    const file = await open(temp, 'w');
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(dirname(path));
}

/** Makes a rename durable; some platforms cannot open a directory, which is then fine to skip. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | null = null;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows, or a file system without directory fsync: the rename itself is still atomic.
  } finally {
    await handle?.close();
  }
}
