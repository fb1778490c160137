/**
 * THINK and LLM_REPORT through the TypeScript SDK on each transport (in-process,
 * WebSocket, Unix socket), against a real loopback provider.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentOSClient } from '../../src/sdk/client.js';
import { AgentOSError } from '../../src/sdk/errors.js';
import { startTestKernel, type TestKernel } from '../helpers/kernel.js';
import { completion, echo, json, OpenAIServer } from './openai-server.js';

let server: OpenAIServer;
let kernel: TestKernel;

beforeAll(async () => {
  server = await OpenAIServer.start();
  kernel = await startTestKernel({ llm: { baseUrl: server.baseUrl, model: 'sdk-model' } });
});

afterAll(async () => {
  await kernel?.cleanup();
  await server?.close();
});

describe('SDK think() and llmReport()', () => {
  it('works the same in-process, over WebSocket and over the Unix socket', async () => {
    const clients = [
      await AgentOSClient.connect({ connection: kernel.connect({ name: 'in-process' }) }),
      await AgentOSClient.connect({ url: kernel.httpUrl as string, name: 'websocket' }),
      await AgentOSClient.connect({ socketPath: kernel.socketPath, name: 'socket', token: null }),
    ];
    for (const os of clients) {
      const answer = await os.think('hello from the SDK');
      expect(answer).toMatchObject({ success: true, content: 'echo: hello from the SDK', model: 'sdk-model' });
      const history = await os.think({ messages: [{ role: 'user', content: 'first' }], system_instruction: 'terse' });
      expect(history.content).toBe('echo: first');
      expect(await os.llmReport(42, { model: 'own-model' })).toMatchObject({ success: true, quota_exceeded: false });
      await os.close();
    }
  });

  it('returns tool calls, and rejects with AgentOSError carrying the code and field', async () => {
    const os = await AgentOSClient.connect({ connection: kernel.connect() });
    server.behaviour = (call, res) =>
      json(
        res,
        200,
        completion(call, { content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{}' } }] }),
      );
    const reply = await os.think({
      prompt: 'call f',
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
    });
    expect(reply.tool_calls?.[0]?.function.name).toBe('f');
    server.behaviour = echo;

    const error = await os.think({ prompt: 'x', temperature: 9 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentOSError);
    expect((error as AgentOSError).code).toBe('INVALID_REQUEST');
    expect((error as AgentOSError).reply?.field).toBe('temperature');
    await os.close();
  });
});
