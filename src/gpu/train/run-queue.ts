// Model work, one piece at a time. A training step awaits between its forward, backward and
// optimizer passes; a query (retrieval map, NIAH question or grid) that ran its own forward
// in one of those gaps would overwrite the step's activations, and runs share the ROSA
// scanner. Everything that runs a model goes through the engine's queue, in arrival order,
// so queries run between steps.

export class RunQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `work` after everything queued before it has settled. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work, work);
    // The next job waits for this one whether it succeeds or fails.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
