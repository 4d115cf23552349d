import { CatalogInvalidError } from './errors.js';
import { WriteOp, type ApplyOp, type ClientToWorker, type WriteRequest } from './protocol.js';
import { serializeDefinition, validateName } from './validate-input.js';
import { validateIfVersion } from './write-options.js';

/** Limits the owner enforces on every request, whoever sends it. */
export interface RequestLimits {
  readonly maxNameBytes: number;
  readonly maxDefinitionBytes: number;
}

export type ParsedRequest =
  | { readonly ok: true; readonly request: ClientToWorker }
  /** `id` is the request's id when one could be read, so the sender can be answered. */
  | { readonly ok: false; readonly id: number | undefined; readonly error: CatalogInvalidError };

/** Most requests one message may bundle: a client cannot make the writer hold more at once. */
export const MAX_BUNDLE = 10_000;

const OPS = new Set<string>(Object.values(WriteOp));

/**
 * Checks a request from a client thread or process exactly as the API checks the owner's
 * own calls. Client ports and the socket are a trust boundary: whatever arrives there is
 * `unknown` until this says otherwise. A definition is re-serialized from its parsed JSON,
 * so what is stored is what was checked.
 */
export function parseClientRequest(message: unknown, limits: RequestLimits): ParsedRequest {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return refuse(undefined, 'request', 'must be an object');
  }
  const fields = message as Record<string, unknown>;
  const id = fields.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) return refuse(undefined, 'request.id', 'must be a non-negative integer');
  switch (fields.kind) {
    case 'stats':
    case 'checkpoint':
    case 'sync':
    case 'hello':
    case 'leave':
      return { ok: true, request: { kind: fields.kind, id } };
    case 'write':
      return parseWrite(id, fields, limits, 'options.ifVersion');
    case 'apply':
      return parseApply(id, fields.ops, limits);
    default:
      return refuse(id, 'request.kind', `must be write, apply, checkpoint, stats, sync, hello or leave, got ${describe(fields.kind)}`);
  }
}

/** The requests of a message: a bundle's members, or the message itself. */
export function unbundle(message: unknown): { readonly requests: readonly unknown[]; readonly error?: CatalogInvalidError } {
  if (typeof message !== 'object' || message === null || (message as { kind?: unknown }).kind !== 'bundle') return { requests: [message] };
  const requests = (message as { requests?: unknown }).requests;
  if (!Array.isArray(requests)) return { requests: [], error: new CatalogInvalidError('request.requests', 'must be an array') };
  if (requests.length > MAX_BUNDLE) return { requests: [], error: new CatalogInvalidError('request.requests', `holds ${requests.length} requests, the limit is ${MAX_BUNDLE}`) };
  return { requests };
}

/** @param versionField How a bad `ifVersion` is named: `options.ifVersion` for a write, `ifVersion` in an apply op. */
function parseWrite(id: number, fields: Record<string, unknown>, limits: RequestLimits, versionField: string): ParsedRequest {
  const op = fields.op;
  if (typeof op !== 'string' || !OPS.has(op)) return refuse(id, 'request.op', `must be define, replace or drop, got ${describe(op)}`);
  try {
    validateName(fields.name, limits.maxNameBytes);
    const ifVersion = fields.ifVersion;
    if (ifVersion !== undefined) {
      if (op === WriteOp.DEFINE) return refuse(id, versionField, 'only replace and drop take ifVersion');
      validateIfVersion(ifVersion, versionField);
    }
    const guard = ifVersion === undefined ? undefined : { ifVersion };
    if (op === WriteOp.DROP) return { ok: true, request: { kind: 'write', id, op, name: fields.name, ...guard } };
    if (typeof fields.json !== 'string') return refuse(id, 'definition', 'must be JSON text');
    let value: unknown;
    try {
      value = JSON.parse(fields.json);
    } catch {
      return refuse(id, 'definition', 'is not valid JSON');
    }
    return { ok: true, request: { kind: 'write', id, op: op as WriteOp, name: fields.name, json: serializeDefinition(value, limits.maxDefinitionBytes), ...guard } };
  } catch (error) {
    if (error instanceof CatalogInvalidError) return { ok: false, id, error };
    throw error;
  }
}

/** An apply is checked op by op, like writes; one bad op refuses the whole request. */
function parseApply(id: number, ops: unknown, limits: RequestLimits): ParsedRequest {
  if (!Array.isArray(ops)) return refuse(id, 'request.ops', 'must be an array');
  if (ops.length > MAX_BUNDLE) return refuse(id, 'request.ops', `holds ${ops.length} ops, the limit is ${MAX_BUNDLE}`);
  const parsed: ApplyOp[] = [];
  for (const [i, op] of ops.entries()) {
    if (typeof op !== 'object' || op === null || Array.isArray(op)) return refuse(id, `ops[${i}]`, 'must be an object');
    const one = parseWrite(id, op as Record<string, unknown>, limits, 'ifVersion');
    if (!one.ok) return { ok: false, id, error: inOp(i, one.error) };
    const { kind: _kind, id: _id, ...write } = one.request as WriteRequest;
    parsed.push(write);
  }
  return { ok: true, request: { kind: 'apply', id, ops: parsed } };
}

/** The same refusal, its field prefixed with the op's index (`ops[3].definition`), so the sender knows which op. */
export function inOp(index: number, error: CatalogInvalidError): CatalogInvalidError {
  const reason = error.message.startsWith(`invalid ${error.field}: `) ? error.message.slice(`invalid ${error.field}: `.length) : error.message;
  return new CatalogInvalidError(`ops[${index}].${error.field.replace(/^request\./, '')}`, reason);
}

function refuse(id: number | undefined, field: string, reason: string): ParsedRequest {
  return { ok: false, id, error: new CatalogInvalidError(field, reason) };
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
}
