/**
 * The preview's server-sent events: every open /events stream, and what is sent on it.
 * Events: `build` after each good build, `error` after a failed one (see
 * templates/preview/preview.js, which listens).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type SseEvent = 'email' | 'build' | 'error';

export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  private closed = false;

  /**
   * Answer a GET (or HEAD) of /events: headers, then keep the stream open. `current` is
   * the event a page that connects (or reconnects) needs to be up to date without asking.
   */
  open(req: IncomingMessage, res: ServerResponse, head: boolean, current?: { event: SseEvent; data: unknown }): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Content-Type-Options': 'nosniff',
    });
    if (head || this.closed) {
      res.end();
      return;
    }
    req.socket.setNoDelay(true);
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
    res.on('error', () => this.clients.delete(res));
    // Reconnect quickly after a restart of the server; then the current state.
    res.write('retry: 1000\n\n');
    if (current) write(res, current.event, current.data);
  }

  /** Send an event to every open stream. */
  broadcast(event: SseEvent, data: unknown): void {
    if (this.closed) return;
    for (const res of this.clients) write(res, event, data);
  }

  /** End every stream; later streams are ended as soon as they open. */
  close(): void {
    this.closed = true;
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}

function write(res: ServerResponse, event: SseEvent, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
