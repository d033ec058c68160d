// Per-kernel GPU time from timestamp queries, where the adapter offers `timestamp-query`.
//
// While a profile is open, every command batch puts each dispatch in its own compute pass
// with a begin and an end timestamp (batch.ts), so a kernel's time is its pass's span. That
// splits the passes the engine normally shares, and adds a resolve and a read-back per
// batch: profiled steps are slower than real ones, and only the split between kernels,
// not the total, carries over. Browsers may quantise timestamps (Chrome to 100 µs unless
// its "WebGPU developer features" flag is on), which makes tiny kernels read as 0.

export interface KernelTime {
  /** The dispatch's label, else `shader:entryPoint`. */
  kernel: string;
  calls: number;
  totalMs: number;
}

export interface KernelProfile {
  kernels: KernelTime[];
  /** Sum of every profiled pass. */
  totalMs: number;
  dispatches: number;
}

/** Timestamps each batch can hold: two per dispatch (a query set's size is at most 4096). */
const MAX_QUERIES = 4096;

interface PendingBatch {
  labels: string[];
  readback: GPUBuffer;
}

export class KernelProfiler {
  private readonly device: GPUDevice;
  private readonly totals = new Map<string, KernelTime>();
  private readonly pending: Promise<void>[] = [];
  private dispatches = 0;

  constructor(device: GPUDevice) {
    this.device = device;
  }

  static supported(device: GPUDevice): boolean {
    return device.features.has('timestamp-query');
  }

  /** Most dispatches one batch may profile. */
  get capacity(): number {
    return MAX_QUERIES / 2;
  }

  /**
   * Starts profiling one command encoder's dispatches. `passFor(i)` gives the timestampWrites
   * of the i-th dispatch's own pass; `finish()` records the resolve (call it before
   * `encoder.finish()`), `afterSubmit()` starts the read-back.
   */
  begin(encoder: GPUCommandEncoder, dispatchCount: number) {
    const count = Math.min(dispatchCount, this.capacity);
    const querySet = this.device.createQuerySet({ type: 'timestamp', count: Math.max(2, count * 2) });
    const labels: string[] = [];
    const bytes = Math.max(2, count * 2) * 8;
    const resolve = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const readback = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    return {
      /** The pass descriptor's timestampWrites for the next dispatch, or undefined when full. */
      next: (label: string): GPUComputePassTimestampWrites | undefined => {
        const i = labels.length;
        if (i >= count) return undefined;
        labels.push(label);
        return { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
      },
      finish: (): void => {
        if (labels.length === 0) return;
        encoder.resolveQuerySet(querySet, 0, labels.length * 2, resolve, 0);
        encoder.copyBufferToBuffer(resolve, 0, readback, 0, labels.length * 16);
      },
      afterSubmit: (): void => {
        querySet.destroy();
        if (labels.length === 0) {
          resolve.destroy();
          readback.destroy();
          return;
        }
        this.pending.push(this.collect({ labels, readback }).finally(() => resolve.destroy()));
      },
    };
  }

  private async collect({ labels, readback }: PendingBatch): Promise<void> {
    await readback.mapAsync(GPUMapMode.READ);
    const stamps = new BigUint64Array(readback.getMappedRange().slice(0));
    readback.unmap();
    readback.destroy();
    for (let i = 0; i < labels.length; i++) {
      const begin = stamps[2 * i];
      const end = stamps[2 * i + 1];
      // A device may write 0 for a pass it could not time; such a span counts as 0 ms.
      const ms = end > begin ? Number(end - begin) / 1e6 : 0;
      const entry = this.totals.get(labels[i]) ?? { kernel: labels[i], calls: 0, totalMs: 0 };
      entry.calls++;
      entry.totalMs += ms;
      this.totals.set(labels[i], entry);
      this.dispatches++;
    }
  }

  /** Waits for every read-back and returns the kernels, slowest first. */
  async result(): Promise<KernelProfile> {
    await Promise.all(this.pending);
    const kernels = [...this.totals.values()].sort((a, b) => b.totalMs - a.totalMs);
    return {
      kernels,
      totalMs: kernels.reduce((sum, k) => sum + k.totalMs, 0),
      dispatches: this.dispatches,
    };
  }
}
