/**
 * The preview's HTTP routes (GET and HEAD only; only to requests addressed to
 * 127.0.0.1:<port> or localhost:<port>):
 *   /             the preview page (templates/preview/index.html)
 *   /preview.css  its style sheet, /preview.js its script (same origin: the page's CSP allows nothing else)
 *   /email.html   the newest email's HTML, exactly as built (the build under way's once its
 *                 email is made, else the last good build's); with ?view=<id>, as that view
 *                 shows it (views.ts: light, dark, inverted, no-style, images-off)
 *   /email.txt    its plain-text part
 *   /changes.html what changed since the last test send (changes.ts)
 *   /state.json   the build's state: size against Gmail's limit, findings, time, error
 *   /events       server-sent events: `email` as soon as a build's email is made, `build`
 *                 after each good build (its checks done, dist/ written), `error` after a failed one
 *   /assets/<name> the local images, so the preview shows them before they are uploaded
 * Anything else is 404.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { replaceAssetUrls } from '../issue/load-assets.js';
import type { Builder } from './builder.js';
import type { PreviewPage } from './page.js';
import type { SseHub } from './sse.js';
import { errorEventJson } from './state-json.js';
import { isViewId, VIEW_IDS, viewHtml } from './views.js';

/**
 * The page's policy: its script, style sheet, frames, state and events all come from
 * the preview server itself, nothing inline, nothing from elsewhere.
 */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'";

/** The email's: no script of any kind runs in it (it has none; this makes sure). */
export const EMAIL_CSP = "script-src 'none'; object-src 'none'; base-uri 'none'";

const TEXT = 'text/plain; charset=utf-8';
const HTML = 'text/html; charset=utf-8';

const NO_BUILD_HTML = `<!doctype html><html lang="en"><meta charset="utf-8"><title>No build yet</title>
<p style="font:16px/1.5 system-ui,sans-serif;margin:2em;color:#222">No good build yet: fix the error shown above this frame and save. The preview updates by itself.</p></html>
`;

export interface RouteContext {
  /** The port listened on (known once listening). */
  port(): number;
  page: PreviewPage;
  builder: Builder;
  sse: SseHub;
  /** /state.json's content. */
  state(): unknown;
  /** /changes.html's content: the last good build against the last test send. */
  changes?(): string;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}, head = false): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...extra,
  });
  res.end(head ? undefined : body);
}

/** The request listener for http.createServer. */
export function previewRoutes(ctx: RouteContext): (req: IncomingMessage, res: ServerResponse) => void {
  const { page, builder, sse } = ctx;
  // The page's files, fixed for the server's life: read once at start (page.ts).
  const files: Record<string, { type: string; body: string; extra: Record<string, string> }> = {
    '/': { type: HTML, body: page.html, extra: { 'Content-Security-Policy': PAGE_CSP, 'Referrer-Policy': 'no-referrer' } },
    '/preview.css': { type: 'text/css; charset=utf-8', body: page.css, extra: {} },
    '/preview.js': { type: 'text/javascript; charset=utf-8', body: page.js, extra: {} },
  };
  const routes = new Set([...Object.keys(files), '/email.html', '/email.txt', '/changes.html', '/state.json', '/events']);

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const port = ctx.port();
    // Only this machine's names: a web page elsewhere cannot read the preview by DNS rebinding.
    const host = (req.headers.host ?? '').toLowerCase();
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      return send(res, 403, TEXT, `Forbidden: open the preview as http://127.0.0.1:${port}/\n`);
    }
    const { pathname, searchParams } = new URL(req.url ?? '/', 'http://127.0.0.1');
    const asset = pathname.startsWith('/assets/') ? builder.email()?.assets.find((a) => `/assets/${a.name}` === pathname) : undefined;
    if (!routes.has(pathname) && !asset) return send(res, 404, TEXT, `Not found: ${pathname}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, TEXT, 'Method not allowed\n', { Allow: 'GET, HEAD' });
    const head = req.method === 'HEAD';
    if (asset) return send(res, 200, asset.contentType, asset.content, { 'Cache-Control': 'max-age=31536000, immutable' }, head);
    const file = files[pathname];
    if (file) return send(res, 200, file.type, file.body, file.extra, head);
    switch (pathname) {
      case '/email.html': {
        const view = searchParams.get('view');
        if (view !== null && !isViewId(view)) return send(res, 400, TEXT, `Unknown view "${view.slice(0, 40)}": use one of ${VIEW_IDS.join(', ')}\n`, {}, head);
        const e = builder.email();
        if (!e) return send(res, 503, HTML, NO_BUILD_HTML, {}, head);
        const html = replaceAssetUrls(e.html, e.assets, (a) => `/assets/${a.name}`);
        return send(res, 200, HTML, view ? viewHtml(html, view) : html, { 'Content-Security-Policy': EMAIL_CSP, 'Referrer-Policy': 'no-referrer' }, head);
      }
      case '/email.txt': {
        const e = builder.email();
        if (!e) return send(res, 503, TEXT, 'No good build yet: fix the error shown in the preview.\n', {}, head);
        return send(res, 200, TEXT, e.text, {}, head);
      }
      case '/changes.html':
        return send(res, 200, HTML, ctx.changes?.() ?? '', { 'Content-Security-Policy': EMAIL_CSP, 'Referrer-Policy': 'no-referrer' }, head);
      case '/state.json':
        return send(res, 200, 'application/json; charset=utf-8', `${JSON.stringify(ctx.state(), null, 2)}\n`, {}, head);
      case '/events': {
        const { lastError, lastGood } = builder;
        const current = lastError
          ? { event: 'error' as const, data: errorEventJson(lastError) }
          : lastGood
            ? { event: 'build' as const, data: { build: lastGood.build, ms: Math.round(lastGood.ms) } }
            : undefined;
        return sse.open(req, res, head, current);
      }
    }
  };

  return (req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      if (!res.headersSent) send(res, 500, TEXT, `preview server error: ${(err as Error).message}\n`);
      else res.destroy();
    }
  };
}
