// The metrics listener's HTTP surface: read-only, bounded, three paths.
//
// Interface: createMetricsServer(routes) -> an unbound http.Server (ts/net/listeners binds
// it); routes maps a path to a handler returning {type, body}.
// Limits: MAX_CONNECTIONS open sockets (more are closed at once); headers within
// HEADERS_MS and the whole request within REQUEST_MS; idle keep-alive sockets closed after
// KEEPALIVE_MS; request line + headers at most MAX_HEADER bytes, the URL at most MAX_URL.
// Answers: GET and HEAD only (else 405 with Allow); a known path or 404; any request body, a
// longer URL or header -> 413; a malformed request -> 400. A refusal runs no handler.
// Failures: a handler that throws -> 500 (logged by the caller's `error`).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export const MAX_CONNECTIONS = 16;
export const MAX_HEADER = 8192;
export const MAX_URL = 1024;
const HEADERS_MS = 5_000;
const REQUEST_MS = 10_000;
const KEEPALIVE_MS = 5_000;

export interface Page {
  readonly type: string;
  readonly body: string;
}

export type Routes = Record<string, () => Promise<Page>>;

function refuse(res: ServerResponse, code: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', connection: 'close', ...headers });
  res.end(`${text}\n`);
}

/** The server, not yet listening. */
export function createMetricsServer(routes: Routes, error: (err: Error) => void = () => {}): Server {
  const server = createServer({ maxHeaderSize: MAX_HEADER, headersTimeout: HEADERS_MS, requestTimeout: REQUEST_MS, keepAliveTimeout: KEEPALIVE_MS },
    (req, res) => void answer(routes, req, res, error));
  server.maxConnections = MAX_CONNECTIONS;
  server.maxRequestsPerSocket = 100;
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
    if (!socket.writable) return void socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '413 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });
  return server;
}

async function answer(routes: Routes, req: IncomingMessage, res: ServerResponse, error: (err: Error) => void): Promise<void> {
  const url = req.url ?? '/';
  if (url.length > MAX_URL) return refuse(res, 413, 'request too large');
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody) return refuse(res, 413, 'request bodies are not accepted');
  if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'method not allowed', { allow: 'GET, HEAD' });
  const route = routes[url.split('?')[0]!];
  if (route === undefined) return refuse(res, 404, 'not found');
  try {
    const page = await route();
    res.writeHead(200, { 'content-type': page.type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(page.body) });
    res.end(req.method === 'HEAD' ? undefined : page.body);
  } catch (err) {
    error(err as Error);
    refuse(res, 500, 'internal error');
  }
}
