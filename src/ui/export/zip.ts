// A zip archive of stored (uncompressed) files: enough to hand a folder to the user as one
// download without a dependency. Local headers, data, central directory, end record (no zip64:
// every file and the whole archive must stay under 4 GiB).

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE), as zip stores it. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const LIMIT = 0xffffffff;

/** One archive holding `files` (path → contents; text is stored as UTF-8). */
export function storedZip(files: Record<string, string | Uint8Array>): Uint8Array {
  const utf8 = new TextEncoder();
  const entries = Object.entries(files).map(([path, contents]) => ({
    name: utf8.encode(path),
    data: typeof contents === 'string' ? utf8.encode(contents) : contents,
  }));
  const size = entries.reduce((a, e) => a + 30 + e.name.length + e.data.length + 46 + e.name.length, 0) + 22;
  if (size > LIMIT) throw new Error(`the archive would be ${size} bytes; a plain zip holds at most 4 GiB`);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  const central: Array<{ name: Uint8Array; crc: number; size: number; offset: number }> = [];
  // Flag bit 11: names are UTF-8. Version 20, method 0 (stored), a fixed 1980-01-01 timestamp.
  const common = (crc: number, n: number, name: Uint8Array, p: number) => {
    view.setUint16(p, 20, true);
    view.setUint16(p + 2, 0x0800, true);
    view.setUint16(p + 4, 0, true);
    view.setUint16(p + 6, 0, true);
    view.setUint16(p + 8, 0x21, true);
    view.setUint32(p + 10, crc, true);
    view.setUint32(p + 14, n, true);
    view.setUint32(p + 18, n, true);
    view.setUint16(p + 22, name.length, true);
    view.setUint16(p + 24, 0, true);
  };
  for (const { name, data } of entries) {
    const crc = crc32(data);
    central.push({ name, crc, size: data.length, offset: at });
    view.setUint32(at, 0x04034b50, true);
    common(crc, data.length, name, at + 4);
    out.set(name, at + 30);
    out.set(data, at + 30 + name.length);
    at += 30 + name.length + data.length;
  }
  const directory = at;
  for (const e of central) {
    view.setUint32(at, 0x02014b50, true);
    view.setUint16(at + 4, 20, true);
    common(e.crc, e.size, e.name, at + 6);
    // comment length, disk, internal and external attributes stay 0.
    view.setUint32(at + 42, e.offset, true);
    out.set(e.name, at + 46);
    at += 46 + e.name.length;
  }
  view.setUint32(at, 0x06054b50, true);
  view.setUint16(at + 8, central.length, true);
  view.setUint16(at + 10, central.length, true);
  view.setUint32(at + 12, at - directory, true);
  view.setUint32(at + 16, directory, true);
  return out;
}
