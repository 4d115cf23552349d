import type { FaultPlan } from '../shared/protocol.js';

/**
 * Test-only misbehaviour, planned by the test through open options. Production catalogs
 * never carry a plan, and then every method here is a no-op.
 */
export class Faults {
  #batches = 0;

  readonly #plan: FaultPlan | undefined;

  constructor(plan: FaultPlan | undefined) {
    this.#plan = plan;
  }

  /** Counts a committed batch. */
  committed(): void {
    this.#batches++;
  }

  /** Misbehaves if the plan says so at this point; otherwise resolves at once. */
  async maybeTrip(at: FaultPlan['at']): Promise<void> {
    const plan = this.#plan;
    if (plan === undefined || plan.at !== at || this.#batches < plan.afterWrites) return;
    switch (plan.action) {
      case 'throw':
        process.nextTick(() => {
          throw new Error('injected fault: writer threw');
        });
        return new Promise(() => undefined);
      case 'exit':
        process.exit(3);
      // eslint-disable-next-line no-fallthrough -- process.exit does not return
      case 'hang-sync':
        for (;;) {
          // a stuck event loop: the heartbeat stops
        }
      case 'hang-async':
        // An await that never ends, as on I/O that never completes: the handle keeps the thread alive.
        setInterval(() => undefined, 1_000);
        return new Promise(() => undefined);
    }
  }
}
