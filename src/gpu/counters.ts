// Cheap integer counters of what the engine asks of the GPU, so a step's cost can be
// compared in counts (noise-free) as well as in milliseconds. Reset them, run a step,
// take a snapshot. "Sync points" are the places where the CPU waits for the GPU:
// mapAsync and awaited onSubmittedWorkDone.

export interface GpuCounts {
  dispatches: number;
  submits: number;
  computePasses: number;
  bufferClears: number;
  bufferCopies: number;
  bindGroups: number;
  /** Bytes the CPU sent: queue.writeBuffer, mapped-at-creation uploads, uniform blocks. */
  bytesWritten: number;
  mapAsyncs: number;
  /** Awaited onSubmittedWorkDone. */
  workDoneWaits: number;
}

export class GpuCounters implements GpuCounts {
  dispatches = 0;
  submits = 0;
  computePasses = 0;
  bufferClears = 0;
  bufferCopies = 0;
  bindGroups = 0;
  bytesWritten = 0;
  mapAsyncs = 0;
  workDoneWaits = 0;

  reset(): void {
    this.dispatches = 0;
    this.submits = 0;
    this.computePasses = 0;
    this.bufferClears = 0;
    this.bufferCopies = 0;
    this.bindGroups = 0;
    this.bytesWritten = 0;
    this.mapAsyncs = 0;
    this.workDoneWaits = 0;
  }

  snapshot(): GpuCounts & { syncPoints: number } {
    return {
      dispatches: this.dispatches,
      submits: this.submits,
      computePasses: this.computePasses,
      bufferClears: this.bufferClears,
      bufferCopies: this.bufferCopies,
      bindGroups: this.bindGroups,
      bytesWritten: this.bytesWritten,
      mapAsyncs: this.mapAsyncs,
      workDoneWaits: this.workDoneWaits,
      syncPoints: this.mapAsyncs + this.workDoneWaits,
    };
  }
}
