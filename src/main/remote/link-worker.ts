/**
 * Worker of a process that reached a catalog's owner with `Catalog.connect`: it bridges
 * the local MessagePort to the owner's `<file>.sock` and keeps the same shared slots a
 * local writer would, so the connecting thread's sync calls block on Atomics exactly as
 * in the owning process. When the owner goes away it says so in WORKER_STATE.
 */
import { createConnection } from 'node:net';
import { workerData } from 'node:worker_threads';
import type { LinkConfig } from '../../shared/link-config.js';
import type { OwnerGoneMessage, WorkerToMain } from '../../shared/protocol.js';
import { Liveness } from '../../shared/liveness.js';
import { HEARTBEAT_INTERVAL_MS, Slot, WorkerState, wakeParty } from '../../shared/slots.js';
import { readLines } from '../../shared/socket-lines.js';

const { socketPath, slots, reply, port } = workerData as LinkConfig;
// The same signals a local writer gives: a waiting thread judges this link like a writer.
const liveness = new Liveness(slots, () => wakeParty(reply));
const beat = setInterval(() => liveness.beat(), HEARTBEAT_INTERVAL_MS).unref();

const socket = createConnection(socketPath);
socket.on('connect', () => liveness.set(WorkerState.RUNNING));
readLines(socket, (line) => {
  const message = JSON.parse(line) as WorkerToMain;
  port.postMessage(message);
  if (message.kind === 'changes') liveness.committed(message.seq);
  if (message.kind === 'owner-closed') liveness.set(WorkerState.CLOSED);
  if (message.kind !== 'changes' || message.replies !== undefined) wakeParty(reply);
});
port.on('message', (request: unknown) => socket.write(`${JSON.stringify(request)}\n`));

function ownerGone(): void {
  clearInterval(beat);
  // A clean close said so first: the handle keeps reporting CLOSED, not a crash.
  if (Atomics.load(slots, Slot.WORKER_STATE) !== WorkerState.CLOSED) {
    liveness.set(WorkerState.EXITED);
    // Told on the port too: the handle emits 'disconnect' now, not at its next call.
    const gone: OwnerGoneMessage = { kind: 'owner-gone' };
    port.postMessage(gone);
  }
  port.close();
  socket.destroy();
}
socket.on('error', ownerGone);
socket.on('close', ownerGone);
