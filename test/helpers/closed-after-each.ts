import { Catalog } from 'duckcat';
import { afterEach } from 'vitest';

interface Closable {
  close(): Promise<void>;
}

/**
 * The handles a test file opens, each closed after every test, so that a failing assertion
 * leaves no catalog open (and no thread or connection alive) for the tests after it.
 * Registers its own `afterEach`: call it once, at the top of the file.
 */
export function closedAfterEach(): {
  /** `Catalog.open`, tracked. */
  open: (...args: Parameters<typeof Catalog.open>) => Promise<Catalog>;
  /** Tracks a handle opened some other way; returns it. */
  track: <T extends Closable>(handle: T) => T;
} {
  const handles: Closable[] = [];
  afterEach(async () => {
    await Promise.all(handles.splice(0).map((handle) => handle.close()));
  });
  const track = <T extends Closable>(handle: T): T => {
    handles.push(handle);
    return handle;
  };
  return { open: async (...args) => track(await Catalog.open(...args)), track };
}
