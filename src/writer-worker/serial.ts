/**
 * Runs async jobs one after another: the store thread's connection must never see two
 * transactions at once, and a checkpoint or close must come after the applies queued before it.
 */
export class Serial {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(job);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves once every job queued so far has settled. */
  idle(): Promise<unknown> {
    return this.#tail;
  }
}
