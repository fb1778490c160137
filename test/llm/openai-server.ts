/**
 * A real OpenAI-compatible chat-completions server on loopback, for the THINK tests
 * (not a test file itself). By default it answers every call at once with an echo of
 * the last user turn and a usage block; a test swaps `behaviour` for tool calls,
 * errors, garbage, slow or endless answers, or a server that never answers, and can
 * hold answers back to control the order in which calls complete.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ChatCall {
  /** 0-based arrival order. */
  index: number;
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: {
    model?: string;
    messages?: { role: string; content: unknown; tool_calls?: unknown; tool_call_id?: string }[];
    temperature?: number;
    max_tokens?: number;
    tools?: unknown[];
    tool_choice?: unknown;
    stream?: boolean;
    [key: string]: unknown;
  };
  /** The content of the last message (the prompt, for a THINK with `prompt`). */
  prompt: string;
}

export type Behaviour = (call: ChatCall, res: ServerResponse) => void;

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A completion in OpenAI's shape. */
export function completion(
  call: ChatCall,
  message: { content: string | null; tool_calls?: unknown[] },
  extra: { usage?: unknown; finish_reason?: string } = {},
): Record<string, unknown> {
  const promptTokens = 10 + call.index;
  const completionTokens = 5;
  return {
    id: `chatcmpl-${call.index}`,
    object: 'chat.completion',
    created: 1_700_000_000,
    model: call.body.model ?? 'unknown',
    choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: extra.finish_reason ?? 'stop' }],
    usage:
      'usage' in extra
        ? extra.usage
        : { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

/** The default: `echo: <prompt>`, 15+ tokens. */
export const echo: Behaviour = (call, res) => json(res, 200, completion(call, { content: `echo: ${call.prompt}` }));

export class OpenAIServer {
  readonly calls: ChatCall[] = [];
  behaviour: Behaviour = echo;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  /** Answers held back by hold(), in arrival order. */
  #held: (() => void)[] | null = null;
  #arrivals: (() => void)[] = [];

  private constructor(server: Server) {
    this.#server = server;
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    server.on('request', (req, res) => this.#handle(req, res));
  }

  static async start(): Promise<OpenAIServer> {
    const server = createServer();
    const instance = new OpenAIServer(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return instance;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** The API root to configure as llm.baseUrl. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  /** From now on calls are recorded but not answered until release(). */
  hold(): void {
    this.#held ??= [];
  }

  /** Answers every held call, in arrival order, and stops holding. */
  release(): void {
    const held = this.#held ?? [];
    this.#held = null;
    for (const answer of held) answer();
  }

  /** Answers the oldest held call, waiting for one to arrive if none is held. */
  async answerNext(): Promise<void> {
    while (!this.#held?.length) await new Promise<void>((resolve) => this.#arrivals.push(resolve));
    this.#held.shift()?.();
  }

  /** Resolves once `n` calls have arrived in all. */
  async waitForCalls(n: number): Promise<void> {
    while (this.calls.length < n) await new Promise<void>((resolve) => this.#arrivals.push(resolve));
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body: ChatCall['body'] = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        // Recorded as empty: the test's assertions will say what was wrong.
      }
      const last = body.messages?.at(-1)?.content;
      const call: ChatCall = {
        index: this.calls.length,
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        prompt: typeof last === 'string' ? last : JSON.stringify(last ?? null),
      };
      this.calls.push(call);
      for (const wake of this.#arrivals.splice(0)) wake();
      if (call.method !== 'POST' || call.path !== '/v1/chat/completions') {
        json(res, 404, { error: { message: `no route ${call.method} ${call.path}`, type: 'invalid_request_error' } });
        return;
      }
      const answer = () => this.behaviour(call, res);
      if (this.#held) this.#held.push(answer);
      else answer();
    });
  }
}
