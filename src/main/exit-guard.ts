/**
 * Node terminates worker threads after 'exit' listeners run, and terminating the writer
 * while a DuckDB call is in flight aborts the whole process (exit code 134). So at exit
 * every still-open writer is asked to close DuckDB first, and the exit waits for it, bounded.
 */
export interface ExitClosable {
  closeAtExit(): void;
}

const open = new Set<ExitClosable>();
let installed = false;

export function guardAtExit(target: ExitClosable): void {
  open.add(target);
  if (!installed) {
    installed = true;
    process.on('exit', () => {
      for (const each of open) each.closeAtExit();
    });
  }
}

export function unguard(target: ExitClosable): void {
  open.delete(target);
}
