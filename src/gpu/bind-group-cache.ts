// What command batches keep between submits: one uniform buffer, rewritten before each submit,
// and the bind groups made against it. A training step records the same dispatches (pipeline,
// buffers, uniform slot) every time, so after the first step it creates no bind groups.
// Rewriting the uniform buffer with queue.writeBuffer is safe while earlier submits still read
// it: queue writes execute in order after the work submitted before them.

/** Bind groups that refer to buffers since destroyed are dropped wholesale past this many. */
const MAX_CACHED = 4096;
/** Room for a few hundred dispatches' uniform blocks (256-byte aligned), so it rarely grows. */
const MIN_UNIFORM_BYTES = 1 << 16;

export class BatchResources {
  private readonly device: GPUDevice;
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;
  private readonly groups = new Map<string, GPUBindGroup>();
  private uniforms: GPUBuffer | null = null;
  /** What the uniform buffer holds (every write goes through writeUniforms). */
  private held = new Uint8Array(0);

  constructor(device: GPUDevice) {
    this.device = device;
  }

  /** A small number naming a WebGPU object (buffer, pipeline) in cache keys. */
  id(object: object): number {
    let id = this.ids.get(object);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(object, id);
    }
    return id;
  }

  /** The shared uniform buffer, at least `bytes` long (growing it forgets the bind groups). */
  uniformBuffer(bytes: number): GPUBuffer {
    if (!this.uniforms || this.uniforms.size < bytes) {
      this.uniforms?.destroy();
      this.groups.clear();
      this.held = new Uint8Array(0);
      this.uniforms = this.device.createBuffer({
        label: 'batch uniforms',
        size: Math.max(MIN_UNIFORM_BYTES, 2 ** Math.ceil(Math.log2(bytes))),
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
    }
    return this.uniforms;
  }

  /**
   * Puts `bytes` at the start of the uniform buffer, writing only the span that differs from
   * what it holds (a step's blocks repeat; the optimizer's step count and rates change).
   * Returns the bytes written.
   */
  writeUniforms(bytes: Uint8Array, write: (offset: number, data: Uint8Array) => void): number {
    const held = this.held;
    let first = 0;
    while (first < bytes.length && first < held.length && bytes[first] === held[first]) first++;
    if (first === bytes.length) return 0;
    let last = bytes.length;
    while (last > first && last <= held.length && bytes[last - 1] === held[last - 1]) last--;
    // writeBuffer takes whole 4-byte words.
    first -= first % 4;
    last += (4 - (last % 4)) % 4;
    write(first, bytes.subarray(first, last));
    if (held.length < bytes.length) {
      const grown = new Uint8Array(bytes.length);
      grown.set(held);
      this.held = grown;
    }
    this.held.set(bytes.subarray(first, last), first);
    return last - first;
  }

  /** The bind group cached under `key`, or a new one from `create` (then `created` is true). */
  bindGroup(key: string, create: () => GPUBindGroup): { group: GPUBindGroup; created: boolean } {
    const have = this.groups.get(key);
    if (have) return { group: have, created: false };
    if (this.groups.size >= MAX_CACHED) this.groups.clear();
    const group = create();
    this.groups.set(key, group);
    return { group, created: true };
  }
}
