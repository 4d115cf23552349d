/**
 * The one shape every benchmarked write path takes, so a single driver loop can run a
 * blocking store, a promise-based store and many concurrent async callers alike.
 */
export interface WriteTarget {
  /** Row name in the report; unique across targets. */
  readonly label: string;
  /** Whether a returned write survives power loss (false for e.g. SQLite synchronous=NORMAL). */
  readonly durable: boolean;
  /** Callers issuing writes at once; each awaits its own write before starting the next. */
  readonly concurrency: number;
  /** Opens a fresh store under `dir` (a directory of its own, created by the caller). */
  setup(dir: string): Promise<void>;
  /**
   * Writes the definition of a new name, built from `i` (unique within one setup).
   * Sync targets return undefined; async targets return a promise that settles when durable.
   */
  writeOne(i: number): void | Promise<unknown>;
  /** Closes the store. Called once after every successful or failed setup. */
  teardown(): Promise<void>;
}
