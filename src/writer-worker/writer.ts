import { rmSync } from 'node:fs';
import { parseClientRequest, unbundle } from '../shared/client-request.js';
import { CatalogClosedError, CatalogInvalidError, CatalogReadOnlyError, CatalogWriterExitedError } from '../shared/errors.js';
import type { ApplyRequest, ChangesMessage, Columns, HelloMessage, JournalThreadConfig, MainToWorker, Reply, RequestBundle, StoreToJournal, WireError, WriteRequest } from '../shared/protocol.js';
import { HEARTBEAT_INTERVAL_MS, Slot, TraceField, WorkerState, stamp } from '../shared/slots.js';
import { toWireError } from '../shared/wire-error.js';
import { journalRows, planBatch, type BatchPlan, type Versions } from './batch-plan.js';
import { runWork } from './work-runs.js';
import { Faults } from './faults.js';
import { journalPaths } from './journal-files.js';
import type { JournalLog } from './journal-log.js';
import { Lag } from './lag.js';
import type { Liveness } from '../shared/liveness.js';
import { toColumns, type OpenedCatalog } from './open-catalog.js';
import { Parties, PortParty } from './parties.js';
import type { StoreLink } from './store-link.js';
import { StatsRecorder } from './writer-stats.js';
import { debug } from '../shared/debug-log.js';
import { Greeter } from './greeter.js';
import { Compaction } from './compaction.js';

interface Work {
  readonly party: PortParty;
  readonly message: MainToWorker;
}

/** A throttle shorter than this is not worth a sleep (a wait costs about as much). */
const MIN_THROTTLE_MS = 0.05;

/** How long a busy journal thread goes before letting its event loop deliver port closes. */
const YIELD_EVERY_MS = 20;

/**
 * The journal thread's loop: it sleeps in Atomics.wait on the doorbell, drains every
 * party's port, plans the writes against its index, journals them with one fdatasync and
 * answers — before DuckDB sees them (with `commit: 'journal'`). DuckDB is brought up to
 * date behind it by the store thread, at most `maxLagRows` / `maxLagMs` behind.
 */
export class Writer {
  readonly #config: JournalThreadConfig;
  readonly #store: StoreLink;
  readonly #liveness: Liveness;
  readonly #parties: Parties<PortParty>;
  readonly #index: Versions;
  readonly #greeter: Greeter;
  readonly #log: JournalLog | undefined;
  readonly #lag: Lag;
  readonly #stats = new StatsRecorder();
  readonly #faults: Faults;
  readonly #checkpoints = new Map<number, { party: PortParty; id: number }>();
  /** Never notified: the throttle's sleep. */
  readonly #throttleCell = new Int32Array(new SharedArrayBuffer(4));
  #seq: number;
  #nextCheckpoint = 1;
  readonly #compaction: Compaction;
  #finished = false;
  #dying = false;

  constructor(config: JournalThreadConfig, opened: OpenedCatalog, store: StoreLink, liveness: Liveness, parties: Parties<PortParty>) {
    this.#config = config;
    this.#store = store;
    this.#liveness = liveness;
    this.#parties = parties;
    this.#index = new Map();
    for (const [name, { version }] of opened.index) this.#index.set(name, version);
    this.#greeter = new Greeter(config.readOnly ? toColumns(opened.index) : undefined, () => this.#store.send({ kind: 'read-rows' }), (party, rows) => {
      party.listen();
      party.send(this.#hello(rows));
      party.wake();
    });
    this.#log = opened.log;
    this.#seq = opened.seq;
    this.#lag = new Lag(opened.seq, opened.appliedSeq);
    this.#faults = new Faults(config.faults);
    this.#compaction = new Compaction(config, store, opened.log);
  }

  async run(): Promise<void> {
    let lastYield = performance.now();
    while (!this.#finished) {
      this.#liveness.beat();
      const seen = Atomics.load(this.#config.slots, Slot.DOORBELL);
      const worked = await this.turn();
      if (this.#finished) return;
      if (performance.now() - lastYield > YIELD_EVERY_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        for (const party of this.#parties) if (party.gone) this.#parties.delete(party);
        lastYield = performance.now();
      }
      if (!worked) Atomics.wait(this.#config.slots, Slot.DOORBELL, seen, HEARTBEAT_INTERVAL_MS);
    }
  }

  /**
   * Fails every party and ends: the store thread sees FAILED and closes DuckDB itself.
   * @param wire What every party is told (default: ERR_CATALOG_WRITER_EXITED naming `error`).
   */
  die(error: unknown, wire = toWireError(new CatalogWriterExitedError(`writer failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error }))): never {
    if (!this.#dying) {
      this.#dying = true;
      this.#parties.broadcast({ kind: 'fatal', error: wire });
      this.#liveness.set(WorkerState.FAILED);
      this.#log?.close();
    }
    process.exit(1);
  }

  welcome(party: PortParty): void {
    this.#parties.add(party);
    this.#greeter.greet(party);
  }

  /** A hello also says how the owner commits and who it is (a client's SQL functions and 'disconnect' event need them). */
  #hello(rows: Columns): HelloMessage {
    const commit = this.#config.ackAfter === 'store' ? 'duckdb' : 'journal';
    return { kind: 'hello', seq: this.#seq, rows, commit, persistent: this.#config.path !== ':memory:', pid: process.pid };
  }

  /**
   * One turn of the loop: reads what the store thread and every party sent, then plans,
   * journals and answers it. `run()` calls it between waits on the doorbell; tests call it
   * directly to drive a Writer without a thread.
   * @returns whether there was anything to do.
   */
  async turn(): Promise<boolean> {
    const fromStore = this.#store.take();
    for (const message of fromStore) this.#onStore(message);
    if (this.#store.failed && !this.#finished) this.die(new CatalogWriterExitedError('the store thread (DuckDB) stopped'));
    const work: Work[] = [];
    for (const party of this.#parties) {
      for (const message of party.receive()) {
        if (party.owner) {
          const incoming = message as MainToWorker | RequestBundle;
          if (incoming.kind === 'bundle') for (const request of incoming.requests) work.push({ party, message: request });
          else work.push({ party, message: incoming });
        } else {
          this.#acceptFromClient(party, message, work);
        }
      }
    }
    if (work.length === 0) return fromStore.length > 0;
    stamp(this.#config.trace, TraceField.WOKE);
    const unrun = await runWork(work, {
      batch: (writes) => this.#writeBatch(writes),
      control: (one) => this.#control(one),
      finished: () => this.#finished,
    });
    for (const { party, message } of unrun) this.#answer(party, message.id, new CatalogClosedError());
    return true;
  }

  /**
   * Client threads and processes are a trust boundary: each request is checked like an API
   * call; a bad one is answered to its sender alone (or dropped when it has no id).
   */
  #acceptFromClient(party: PortParty, message: unknown, into: Work[]): void {
    const { requests, error } = unbundle(message);
    if (error !== undefined) {
      this.#stats.recordRejected();
      return;
    }
    for (const request of requests) {
      const parsed = parseClientRequest(request, this.#config);
      if (parsed.ok && parsed.request.kind === 'leave') this.#leave(party);
      else if (parsed.ok) into.push({ party, message: parsed.request });
      else {
        this.#stats.recordRejected();
        if (parsed.id !== undefined) this.#answer(party, parsed.id, parsed.error);
      }
    }
  }

  async #writeBatch(batch: readonly Work[]): Promise<void> {
    const requests = batch.map((work) => work.message as WriteRequest);
    if (this.#config.readOnly) {
      batch.forEach(({ party, message }) => this.#answer(party, message.id, new CatalogReadOnlyError()));
      return;
    }
    this.#waitForRoom(requests.length);
    await this.#faults.maybeTrip('before-commit');
    const plan = planBatch(this.#index, requests, this.#seq + 1);
    stamp(this.#config.trace, TraceField.PLANNED);
    const started = performance.now();
    const outcome = await this.#commit(plan);
    let replies: readonly Reply[] = plan.replies;
    if ('refused' in outcome) {
      if (batch.length > 1) {
        // One op's row failed DuckDB's checks and rolled the whole batch back: give every op
        // its own commit, so the others still land and each gets its own answer.
        this.#stats.recordBatch(0, 0, false, performance.now() - started, batch.length);
        for (const one of batch) await this.#writeBatch([one]);
        return;
      }
      this.#stats.recordBatch(1, 0, false, performance.now() - started);
      replies = requests.map((request) => failed(request.id, outcome.refused));
    } else {
      this.#stats.recordBatch(requests.length, plan.replies.filter((reply) => !reply.ok).length, true, performance.now() - started);
      debug('batch %s: %d ops, %d ms', outcome.seq ?? '-', requests.length, Math.round(performance.now() - started));
    }
    this.#finish(plan, batch, replies, 'seq' in outcome ? outcome.seq : undefined);
  }

  /**
   * An apply: its ops planned together against the index and journaled as ONE batch record
   * (one DuckDB transaction behind it), so recovery replays all of them or none. Refused
   * whole, with the first refusal's error, when any op would be refused: nothing changes.
   */
  async #apply(party: PortParty, request: ApplyRequest): Promise<void> {
    if (this.#config.readOnly) {
      this.#answer(party, request.id, new CatalogReadOnlyError());
      return;
    }
    this.#waitForRoom(request.ops.length);
    await this.#faults.maybeTrip('before-commit');
    const plan = planBatch(this.#index, request.ops.map((op, i): WriteRequest => ({ kind: 'write', id: i, ...op })), this.#seq + 1);
    const refusal = plan.replies.find((reply) => !reply.ok);
    if (refusal !== undefined && !refusal.ok) {
      this.#stats.recordBatch(request.ops.length, request.ops.length, true, 0);
      this.#reply(party, failed(request.id, refusal.error));
      return;
    }
    const started = performance.now();
    const outcome = await this.#commit(plan);
    if ('refused' in outcome) {
      this.#stats.recordBatch(1, 0, false, performance.now() - started);
      this.#reply(party, failed(request.id, outcome.refused));
      return;
    }
    this.#stats.recordBatch(request.ops.length, 0, true, performance.now() - started);
    this.#finish(plan, [{ party, message: request }], [ok(request.id)], outcome.seq);
  }

  /**
   * Makes a planned batch durable: its journal record fdatasync'ed (with `commit: 'duckdb'`,
   * DuckDB's commit too, overlapping the fdatasync: acknowledged only once both are durable,
   * and a batch DuckDB holds but the journal lost was never acknowledged, so open may keep it
   * or not), then the index's state. A batch with nothing to store only updates the index.
   * @returns the batch's seq; `refused` when DuckDB refused it (recorded as aborted; nothing changed).
   */
  async #commit(plan: BatchPlan): Promise<{ readonly seq?: number } | { readonly refused: WireError }> {
    const rows = journalRows(plan);
    if (rows.length === 0) {
      plan.commitTo(this.#index);
      return {};
    }
    const waitForStore = this.#config.ackAfter === 'store';
    if (waitForStore) this.#store.send({ kind: 'apply', seq: this.#seq + 1, rows: plan.applyRows() });
    const seq = this.#journal(rows);
    stamp(this.#config.trace, TraceField.SYNCED);
    this.#seq = seq;
    if (waitForStore) {
      const outcome = this.#store.waitFor(['applied', 'apply-failed'], (message) => message.seq === seq);
      if (outcome.kind === 'apply-failed') {
        this.#log?.appendAbort(seq);
        return { refused: outcome.error };
      }
      this.#onStore(outcome);
    }
    await this.#faults.maybeTrip('after-commit');
    this.#faults.committed();
    plan.commitTo(this.#index);
    // A client greeted before DuckDB applies this batch gets it from the greeter.
    this.#greeter.journaled({ seq, names: plan.changes.names, jsons: plan.changes.jsons });
    if (this.#config.ackAfter !== 'store') this.#lag.journaled(seq, rows.length, rowBytes(rows));
    return { seq };
  }

  /** Answers a committed (or refused) batch, hands it to DuckDB and compacts when due. */
  #finish(plan: BatchPlan, work: readonly Work[], replies: readonly Reply[], seq: number | undefined): void {
    this.#publish(work, replies, seq === undefined ? undefined : { kind: 'changes', seq, ...plan.changes });
    stamp(this.#config.trace, TraceField.REPLIED);
    if (seq !== undefined && this.#config.ackAfter !== 'store') this.#store.send({ kind: 'apply', seq, rows: plan.applyRows() });
    this.#compaction.maybeStart();
  }

  /** Appends the batch's record and fdatasyncs it; returns its seq. */
  #journal(rows: ReturnType<typeof journalRows>): number {
    if (this.#log === undefined) return this.#seq + 1;
    try {
      return this.#log.append(rows, { written: () => stamp(this.#config.trace, TraceField.WRITTEN) });
    } catch (error) {
      // A journal that cannot be written cannot acknowledge anything: fatal, not a batch error.
      this.die(error);
    }
  }

  /**
   * One message per party: every party gets the batch's changes, with its own replies in
   * the same message; COMMITTED_SEQ moves before any message is posted, so no thread can
   * see a reply before every thread knows the changes are coming.
   */
  #publish(batch: readonly Work[], replies: readonly Reply[], changes: ChangesMessage | undefined): void {
    const byParty = new Map<PortParty, Reply[]>();
    batch.forEach(({ party }, i) => {
      const list = byParty.get(party);
      if (list === undefined) byParty.set(party, [replies[i]!]);
      else list.push(replies[i]!);
    });
    if (changes !== undefined && changes.names.length > 0) {
      const send = (party: PortParty) => {
        const own = byParty.get(party);
        party.send(own === undefined ? changes : { ...changes, replies: own });
      };
      // COMMITTED_SEQ first, then threads of this process, then other processes. A thread
      // with an event loop gets its message (and its reply) the moment it is posted, so the
      // seq must already have moved: any thread told of that reply then sees the new seq and
      // waits the moment its own message takes to arrive (PortLink.catchUp).
      const everyone = [...this.#parties, ...[...byParty.keys()].filter((party) => !this.#parties.has(party))];
      this.#liveness.committed(changes.seq);
      for (const party of everyone) if (!party.remote) send(party);
      for (const party of everyone) if (party.remote) send(party);
    } else {
      for (const [party, own] of byParty) party.send({ kind: 'replies', replies: own });
    }
    for (const party of byParty.keys()) party.wake();
  }

  /**
   * Backpressure: with DuckDB far behind, slow this batch a little (see {@link Lag.throttleMs});
   * at a bound, wait for DuckDB before acknowledging more.
   * @param batchRows Rows the batch may write (its requests).
   */
  #waitForRoom(batchRows: number): void {
    if (this.#config.ackAfter !== 'journal') return;
    const { maxLagRows, maxLagMs, slots } = this.#config;
    this.#lag.applied(Atomics.load(slots, Slot.APPLIED_SEQ));
    if (!this.#lag.full(maxLagRows, maxLagMs)) {
      const delay = this.#lag.throttleMs(batchRows, maxLagRows);
      if (delay >= MIN_THROTTLE_MS) {
        // A sleep nobody rings: this thread's pace is the point. Short (≤ 20 ms), so no beat is missed.
        Atomics.wait(this.#throttleCell, 0, 0, delay);
        this.#lag.countThrottle(delay);
      }
      return;
    }
    this.#lag.countWait();
    debug('backpressure: DuckDB is %j behind; writes wait', this.#lag.stats());
    this.#store.waitWhile(() => {
      this.#lag.applied(Atomics.load(slots, Slot.APPLIED_SEQ));
      return this.#lag.full(maxLagRows, maxLagMs);
    });
  }

  /** Asks the store thread for the first prepared log (later ones are asked for at each seal). */
  prepareNextLog(): void {
    this.#compaction.prepareNextLog();
  }

  /** Asks for a snapshot covering sealed logs a stopped process left (see {@link Compaction.compactLeftovers}). */
  compactLeftovers(): void {
    this.#compaction.compactLeftovers(this.#seq);
  }

  #onStore(message: StoreToJournal): void {
    switch (message.kind) {
      case 'applied':
        this.#lag.applied(message.seq);
        this.#lag.observeApply(message.rows, message.ms);
        this.#greeter.forgetApplied(message.seq);
        this.#stats.recordApply(message.rows, message.ms);
        return;
      case 'open-failed':
        // DuckDB failed to finish opening after it told its position (the owner's open had
        // returned): every party gets DuckDB's own error, typed.
        this.die(new Error(message.error.message), message.error);
        return;
      case 'apply-failed':
        // DuckDB refused writes already acknowledged from the journal: it must not fall silently behind.
        this.die(new Error(`DuckDB refused acknowledged batch ${message.seq}: ${message.error.message}`));
        return;
      case 'checkpointed': {
        const pending = this.#checkpoints.get(message.id);
        this.#checkpoints.delete(message.id);
        if (pending !== undefined) this.#reply(pending.party, message.error === undefined ? ok(pending.id) : failed(pending.id, message.error));
        return;
      }
      case 'snapshotted':
      case 'log-prepared':
        this.#compaction.onStore(message);
        return;
      case 'client':
        this.welcome(new PortParty(message.port, message.reply, false, { remote: true, listening: false }));
        return;
      case 'rows-now':
        this.#greeter.greetAll(message.rows, message.seq, this.#index, this.#lag.appliedSeq);
        return;
      default:
        return;
    }
  }

  async #control({ party, message }: Work): Promise<void> {
    if (!party.owner && (message.kind === 'close' || message.kind === 'subscribe')) {
      this.#answer(party, message.id, new CatalogInvalidError('request', `${String(message.kind)} is for the owner only`));
      return;
    }
    switch (message.kind) {
      case 'stats':
        this.#reply(party, { kind: 'reply', id: message.id, ok: true, stats: this.#stats.snapshot(0, this.#parties.size, this.#lag.stats()) });
        return;
      case 'checkpoint': {
        const id = this.#nextCheckpoint++;
        this.#checkpoints.set(id, { party, id: message.id });
        this.#store.send({ kind: 'checkpoint', id, upTo: this.#seq });
        return;
      }
      case 'subscribe':
        // Greeted when it asks (a `hello` request): a port handed out but never used costs nothing.
        this.#parties.add(new PortParty(message.port, message.reply, false, { listening: false }));
        this.#reply(party, ok(message.id));
        return;
      case 'hello':
        this.#greeter.greet(party);
        return;
      case 'sync':
        // Every earlier batch's changes were posted to this party before this reply.
        this.#reply(party, ok(message.id));
        return;
      case 'leave':
        this.#leave(party);
        return;
      case 'close':
        this.#close(party, message.id);
        return;
      case 'write':
        // Writes are batched by #turn, never sent here.
        return;
      case 'apply':
        await this.#apply(party, message);
        return;
      default:
        assertNever(message);
    }
  }

  /** Lets DuckDB catch up and close (it checkpoints), then closes the journal and every port. */
  #close(owner: PortParty, id: number): void {
    this.#finished = true;
    this.#store.send({ kind: 'close', upTo: this.#seq });
    let error: WireError | undefined;
    try {
      const closed = this.#store.waitFor(['closed']);
      error = closed.error;
    } catch (failure) {
      error = toWireError(failure);
    }
    // A snapshot the store thread finished while closing covers sealed logs: drop them now,
    // or they would outlive the close (harmless to reopen, but files nobody needs).
    for (const message of this.#store.take()) if (message.kind === 'snapshotted' && message.error === undefined) this.#compaction.dropCovered(message.seq);
    for (const pending of this.#checkpoints.values()) this.#answer(pending.party, pending.id, new CatalogClosedError());
    this.#log?.close();
    if (this.#log !== undefined) rmSync(journalPaths(this.#config.path).nextLog, { force: true });
    this.#reply(owner, error === undefined ? ok(id) : failed(id, error));
    this.#liveness.set(WorkerState.CLOSED);
    this.#parties.closeAll();
    this.#store.close();
  }

  /** Forgets a party at once, as it reads: a stats request in the same turn no longer counts it. */
  #leave(party: PortParty): void {
    this.#parties.delete(party);
    party.close();
  }

  #answer(party: PortParty, id: number, error: Error): void {
    this.#reply(party, failed(id, toWireError(error)));
  }

  #reply(party: PortParty, reply: Reply): void {
    party.send(reply);
    party.wake();
  }
}
function assertNever(message: never): never {
  throw new Error(`unhandled request ${JSON.stringify(message)}`);
}

/** Bytes a batch adds to DuckDB's lag: names and definitions, as UTF-16 lengths (close enough for a bound). */
function rowBytes(rows: ReturnType<typeof journalRows>): number {
  let bytes = 0;
  for (const [name, json] of rows) bytes += name.length + (json?.length ?? 0);
  return bytes;
}

function ok(id: number): Reply {
  return { kind: 'reply', id, ok: true };
}

function failed(id: number, error: WireError): Reply {
  return { kind: 'reply', id, ok: false, error };
}
