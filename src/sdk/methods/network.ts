/** Network (docs/protocol.md, Network): HTTP, DOWNLOAD. Both need can_network and a host in allowed_domains. */
import { Op } from '../../protocol/opcodes.js';
import type { DownloadReply, DownloadRequest, HttpReply, HttpRequest } from '../../protocol/schemas/network.js';
import type { Reply, Request } from '../types.js';
import type { Context } from './context.js';

export const networkMethods = ({ call }: Context) => ({
  /**
   * HTTP: a request the kernel makes for this agent (a URL alone is a GET); resolves to
   * the real status, headers and body (`body_encoding` base64 for binary, `truncated`
   * past `max_body`), an HTTP error status included. Rejects with PERMISSION_DENIED (no
   * can_network, a host outside allowed_domains, at any redirect), INVALID_REQUEST (naming
   * the field), TIMEOUT, UNAVAILABLE (the host cannot be reached).
   * In the background: `startAsync('HTTP', request)`.
   */
  http(request: Omit<Request<typeof HttpRequest>, 'async'> | string): Promise<Reply<typeof HttpReply>> {
    return call(Op.HTTP, typeof request === 'string' ? { url: request } : request);
  },

  /**
   * DOWNLOAD a URL's body to `path` (the agent's write rules apply), streamed; resolves to
   * its size, status and `sha256`. Rejects as `http` does, and with QUOTA_EXCEEDED when the
   * body is over `max_bytes` (nothing is kept). In the background: `startAsync('DOWNLOAD', request)`.
   */
  download(request: Omit<Request<typeof DownloadRequest>, 'async'>): Promise<Reply<typeof DownloadReply>> {
    return call(Op.DOWNLOAD, request);
  },
});
