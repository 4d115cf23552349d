/**
 * Runs one round of requests in arrival order: each run of consecutive writes as one batch,
 * each other request on its own. Every write of a batch gets the batch's version, even two
 * writes of one name: only the batch's net state is ever published (with that version), and
 * a later op guarded by the name's old version is refused. (Cutting a batch at a repeated
 * name instead cost one flush or transaction per repeat: a client repeating one big
 * definition stalled the owner's writes past timeoutMs in the socket fuzz.)
 * @returns the requests left unrun because the writer finished meanwhile, to be refused.
 */
export async function runWork<W extends { readonly message: { readonly kind: string } }>(
  work: readonly W[],
  run: { batch(writes: W[]): Promise<void>; control(one: W): Promise<void>; finished(): boolean },
): Promise<readonly W[]> {
  let at = 0;
  while (at < work.length && !run.finished()) {
    let end = at;
    while (end < work.length && work[end]!.message.kind === 'write') end++;
    if (end > at) {
      await run.batch(work.slice(at, end));
      at = end;
    } else {
      await run.control(work[at]!);
      at++;
    }
  }
  return work.slice(at);
}
