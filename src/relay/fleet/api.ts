/**
 * The fleet REST API (docs/relay.md §11): tokens, machines, remote agents and deploys,
 * served on the relay's port for every request that is not a WebSocket upgrade. It only
 * reads the relay's state and asks it to act through a FleetHub, so it is tested over a
 * hub made in the test as well as over the real relay.
 *
 * Deny by default: every route but GET /v1/health needs the admin token, checked before
 * the path is even matched. Bodies are read with a cap; a bad one is answered with the
 * field at fault; any other throw is a 500 and a log line (never the body: it may hold a
 * script or a token).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { describeZodError, KernelError } from '../../protocol/errors.js';
import { TokenId } from '../tokens/schema.js';
import { HttpError, makeAdminCheck, readJsonBody, sendError, sendJson } from './http.js';
import type { DeploySpec, FleetHub, FleetOutcome } from './hub.js';
import {
  AgentNameParam,
  CreateTokenBody,
  DeployBody,
  type DeployOutcome,
  MachineIdParam,
  type RemoteAgentView,
  type StopOutcome,
} from './schemas.js';

export interface FleetApiOptions {
  adminToken: string;
  /** Request bodies above this are TOO_LARGE (the relay passes max_message_bytes). */
  maxBodyBytes: number;
  version: string;
  log: Logger;
  /** How long a deploy or stop waits for the kernel's answer before TIMEOUT. */
  deployTimeoutMs: number;
  /** The clock for expires_in_s; tests may drive it. */
  now?: () => number;
}

type Method = 'GET' | 'POST' | 'DELETE';

interface Request {
  params: string[];
  query: URLSearchParams;
  req: IncomingMessage;
}

interface Answer {
  status: number;
  body: unknown;
}

type Handler = (request: Request) => Answer | Promise<Answer>;

interface Route {
  pattern: RegExp;
  methods: Partial<Record<Method, Handler>>;
}

export type FleetApiHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createFleetApi(hub: FleetHub, options: FleetApiOptions): FleetApiHandler {
  const checkAdmin = makeAdminCheck(options.adminToken);
  const log = options.log;
  const routes = buildRoutes(hub, options);

  return (req, res) => {
    // A client that goes away mid-body must not become an unhandled 'error'.
    req.on('error', () => {});
    const started = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    let path = '/';
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://relay');
      path = url.pathname;
      if (!(method === 'GET' && path === '/v1/health')) checkAdmin(req);
      const { route, params } = match(routes, path);
      const handler = route.methods[method as Method];
      if (handler === undefined) {
        const allow = Object.keys(route.methods).join(', ');
        throw new HttpError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path} (allowed: ${allow})`, undefined, { allow });
      }
      return handler({ params, query: url.searchParams, req });
    })()
      .then(
        (answer) => sendJson(res, answer.status, answer.body),
        (error: unknown) => {
          if (error instanceof HttpError) {
            if (error.code === 'TOO_LARGE') return refuseTooLarge(req, res, error);
            return sendError(res, error);
          }
          log.error({ err: error, method, path }, 'fleet API request failed');
          if (res.headersSent) return res.destroy();
          sendError(res, new HttpError('INTERNAL', 'internal error (see the relay log)'));
        },
      )
      .catch((error: unknown) => {
        log.error({ err: error, method, path }, 'fleet API could not answer');
        res.destroy();
      })
      .finally(() => {
        log.debug({ method, path, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'fleet API');
      });
  };
}

/** Answers 413 and drops the connection rather than read the rest of an oversized body. */
function refuseTooLarge(req: IncomingMessage, res: ServerResponse, error: HttpError): void {
  req.pause();
  res.once('finish', () => req.socket.destroySoon?.());
  sendError(res, new HttpError(error.code, error.message, undefined, { connection: 'close' }));
}

function match(routes: Route[], path: string): { route: Route; params: string[] } {
  for (const route of routes) {
    const found = route.pattern.exec(path);
    if (found === null) continue;
    const params = found.slice(1).map((raw) => {
      try {
        return decodeURIComponent(raw ?? '');
      } catch {
        throw new HttpError('BAD_REQUEST', `expected a percent-encoded path segment, got "${raw}"`);
      }
    });
    return { route, params };
  }
  throw new HttpError('NOT_FOUND', `no route ${path}`);
}

function buildRoutes(hub: FleetHub, options: FleetApiOptions): Route[] {
  const now = options.now ?? Date.now;
  const timeout = options.deployTimeoutMs;
  const log = options.log;

  const health: Handler = () => ({
    status: 200,
    body: { status: 'ok', version: options.version, uptime_ms: hub.status().uptime_ms },
  });

  const status: Handler = ({ query }) => {
    onlyQuery(query, []);
    return ok(hub.status());
  };

  const listMachines: Handler = ({ query }) => {
    onlyQuery(query, []);
    return ok({ machines: hub.machines() });
  };

  const showMachine: Handler = ({ params, query }) => {
    onlyQuery(query, []);
    const id = params[0] ?? '';
    const machine = hub.machine(id);
    if (machine === undefined) throw unknownMachine(id);
    return ok({ machine, sessions: hub.sessions(id), deployments: hub.deployments(id) });
  };

  const removeMachine: Handler = ({ params, query }) => {
    onlyQuery(query, []);
    const id = params[0] ?? '';
    const removed = hub.removeMachine(id);
    if (removed === undefined) throw unknownMachine(id);
    return ok({ machine_id: id, removed: true, ...removed });
  };

  const listAgents: Handler = ({ query }) => {
    onlyQuery(query, ['machine']);
    const machine = machineQuery(query);
    const agents: RemoteAgentView[] = [
      ...hub.sessions(machine).map(
        (session): RemoteAgentView => ({
          kind: 'session',
          machine_id: session.machine_id,
          name: session.name,
          session: session.session,
          since: session.connected_since,
        }),
      ),
      ...hub.deployments(machine).map(
        (deployment): RemoteAgentView => ({
          kind: 'deployed',
          machine_id: deployment.machine_id,
          name: deployment.name,
          agent_id: deployment.agent_id,
          since: deployment.deployed_at,
        }),
      ),
    ];
    return ok({ agents });
  };

  const deploy: Handler = async ({ req, query }) => {
    onlyQuery(query, []);
    const body = parseBody(DeployBody, await readJsonBody(req, options.maxBodyBytes), 'deploy request');
    const { machine_id, machines, all, ...spec } = body;
    const targets = all ? hub.onlineMachines() : machines ? [...new Set(machines)] : [machine_id as string];
    const results = await Promise.all(targets.map((target) => deployOne(hub, target, spec, timeout, log)));
    return ok({ results });
  };

  const stopAgent: Handler = async ({ params, query }) => {
    onlyQuery(query, ['machine']);
    const name = parseParam(AgentNameParam, params[0], 'name');
    const machine = machineQuery(query);
    const targets =
      machine !== undefined
        ? [machine]
        : [
            ...new Set(
              hub
                .deployments()
                .filter((d) => d.name === name)
                .map((d) => d.machine_id),
            ),
          ];
    if (targets.length === 0) throw new HttpError('NOT_FOUND', `no deployed agent named "${name}"`);
    const results = await Promise.all(targets.map((target) => stopOne(hub, target, name, timeout, log)));
    return ok({ results });
  };

  const listTokens: Handler = ({ query }) => {
    onlyQuery(query, []);
    return ok({ tokens: hub.tokens.list() });
  };

  const createToken: Handler = async ({ req, query }) => {
    onlyQuery(query, []);
    const { expires_in_s, ...request } = parseBody(CreateTokenBody, await readJsonBody(req, options.maxBodyBytes), 'token request');
    if (expires_in_s !== undefined) request.expires_at = now() + expires_in_s * 1000;
    try {
      return { status: 201, body: hub.tokens.create(request) };
    } catch (error) {
      if (error instanceof KernelError && error.code === 'INVALID_REQUEST')
        throw new HttpError('BAD_REQUEST', error.message, String(error.details?.field ?? ''));
      throw error;
    }
  };

  const revokeToken: Handler = ({ params, query }) => {
    onlyQuery(query, []);
    const id = parseParam(TokenId, params[0], 'id');
    const { result, sessions_closed } = hub.revokeToken(id);
    if (result === 'not_found') throw new HttpError('NOT_FOUND', `no token ${id}`);
    if (result === 'already_revoked') throw new HttpError('CONFLICT', `token ${id} is already revoked`);
    return ok({ id, revoked: true, sessions_closed });
  };

  const segment = '([^/]+)';
  return [
    { pattern: /^\/v1\/health$/, methods: { GET: health } },
    { pattern: /^\/v1\/status$/, methods: { GET: status } },
    { pattern: /^\/v1\/machines$/, methods: { GET: listMachines } },
    { pattern: new RegExp(`^/v1/machines/${segment}$`), methods: { GET: showMachine, DELETE: removeMachine } },
    { pattern: /^\/v1\/agents$/, methods: { GET: listAgents, POST: deploy } },
    { pattern: new RegExp(`^/v1/agents/${segment}$`), methods: { DELETE: stopAgent } },
    { pattern: /^\/v1\/tokens$/, methods: { GET: listTokens, POST: createToken } },
    { pattern: new RegExp(`^/v1/tokens/${segment}$`), methods: { DELETE: revokeToken } },
  ];
}

async function deployOne(hub: FleetHub, machineId: string, spec: DeploySpec, timeoutMs: number, log: Logger): Promise<DeployOutcome> {
  const outcome = await settle(hub.deploy(machineId, spec, timeoutMs), machineId, 'deploy', log);
  return outcome.ok ? { machine_id: machineId, ok: true, agent_id: outcome.agent_id } : failure(machineId, outcome);
}

async function stopOne(hub: FleetHub, machineId: string, name: string, timeoutMs: number, log: Logger): Promise<StopOutcome> {
  const outcome = await settle(hub.stop(machineId, name, timeoutMs), machineId, 'stop', log);
  return outcome.ok ? { machine_id: machineId, ok: true } : failure(machineId, outcome);
}

/** One machine's failure must not lose the other machines' outcomes: it becomes its own INTERNAL. */
async function settle<T>(pending: Promise<FleetOutcome<T>>, machineId: string, what: string, log: Logger): Promise<FleetOutcome<T>> {
  try {
    return await pending;
  } catch (error) {
    log.error({ err: error, machine_id: machineId }, `fleet ${what} failed`);
    return { ok: false, code: 'INTERNAL', error: 'internal error (see the relay log)' };
  }
}

function failure(
  machineId: string,
  outcome: { code: string; error: string },
): { machine_id: string; ok: false; code: string; error: string } {
  return { machine_id: machineId, ok: false, code: outcome.code, error: outcome.error };
}

function ok(body: unknown): Answer {
  return { status: 200, body };
}

function unknownMachine(id: string): HttpError {
  return new HttpError('NOT_FOUND', `no machine "${id}"`);
}

function parseBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const { message, field } = describeZodError(parsed.error, what);
  throw new HttpError('BAD_REQUEST', message, field);
}

function parseParam<S extends z.ZodType>(schema: S, value: string | undefined, field: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new HttpError('BAD_REQUEST', `invalid ${field} "${value}": ${parsed.error.issues[0]?.message ?? 'invalid'}`, field);
}

function machineQuery(query: URLSearchParams): string | undefined {
  const value = query.get('machine');
  return value === null ? undefined : parseParam(MachineIdParam, value, 'machine');
}

/** Unknown query parameters are refused, not ignored, so a typo (`?machines=`) shows. */
function onlyQuery(query: URLSearchParams, allowed: string[]): void {
  for (const key of new Set(query.keys())) {
    if (!allowed.includes(key))
      throw new HttpError(
        'BAD_REQUEST',
        `unknown query parameter "${key}"${allowed.length ? ` (expected: ${allowed.join(', ')})` : ''}`,
        key,
      );
    if (query.getAll(key).length > 1) throw new HttpError('BAD_REQUEST', `expected one "${key}" query parameter`, key);
  }
}
