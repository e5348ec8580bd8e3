/**
 * The preview server behind `build-issue <issue> --watch`: builds the issue, serves a
 * page that shows the email at 600 px and 375 px, its plain text and its check
 * findings, and rebuilds when the issue file, its assets, the templates or the config
 * change. The page updates itself over server-sent events after every rebuild.
 *
 * Library side only: nothing here prints or exits. The CLI listens to the events
 * (`onEvent` / `on`) and prints what it wants.
 *
 * Routes (GET and HEAD only, 127.0.0.1 only):
 *   /             the preview page (self-contained: inline CSS and JS, nothing external)
 *   /email.html   the last good build's HTML, exactly as built
 *   /email.txt    its plain-text part
 *   /state.json   the build's state: size against Gmail's limit, findings, time, error
 *   /events       server-sent events: `build` after each good build, `error` after a failed one
 * Anything else is 404.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { buildIssue, GMAIL_CLIP_BYTES, resolveIssueFile, type BuildOptions, type BuildResult } from '../build-issue.js';
import { formatWhere, type ReportedFinding } from '../check/index.js';
import type { Finding } from '../check/types.js';
import { CONFIG_FILE } from '../config.js';
import { NewsletterError, formatProblem } from '../errors.js';
// The page shows the size in the warning colour where the `size` rule warns.
import { SIZE_WARNING_BYTES } from '../check/rules-document.js';
import { replaceAssetUrls } from '../issue/load-assets.js';

export interface PreviewOptions {
  /** The project folder: holds newsletter.config.yaml, templates/ and issues/. */
  root: string;
  /** The issue name (`july-2025`) or a path to its .yaml file, relative to `root`. */
  issue: string;
  /** The port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Only 127.0.0.1: the preview is for this machine. */
  host?: '127.0.0.1';
  /** Build options besides `root`. `write` defaults to true, so dist/<slug>/ stays current. */
  build?: Omit<BuildOptions, 'root'>;
  /** Quiet time after a change before rebuilding, in ms. @default 50 */
  debounceMs?: number;
  /**
   * Called for every event from the start, so the first build and `listening` are
   * seen too (`on()` can only be called once startPreview has resolved). Order at
   * start: the first build's `built` or `failed`, then `listening`.
   */
  onEvent?: (event: PreviewEvent) => void;
}

export type PreviewEvent =
  | {
      type: 'built';
      /** The build counter: 1 for the first build, +1 for each build after it, failed ones included. */
      build: number;
      /** Wall-clock time of the build (load, render, check, write), in ms. */
      ms: number;
      result: BuildResult;
      /** The files whose change caused it, relative to root; empty for the first build and `rebuild()`. */
      changed: string[];
    }
  | { type: 'failed'; build: number; ms: number; error: NewsletterError | Error; changed: string[] }
  | { type: 'listening'; url: string };

export interface PreviewState {
  /** Builds finished so far, failed ones included (0 before the first). */
  build: number;
  /** Whether a build is running now. */
  building: boolean;
  /** The last good build: what the page shows. */
  result?: BuildResult;
  /** The build counter of `result`. */
  resultBuild?: number;
  /** Set when the latest build failed (the page shows it above the last good email). */
  error?: NewsletterError | Error;
  /** Wall-clock ms of the latest build, good or failed. */
  ms?: number;
  /** When the latest build finished. */
  at?: Date;
}

export interface PreviewServer {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  port: number;
  /** What is watched: folders (and the files in them that count), relative to root. */
  watching: string[];
  /** Stop watching, end every connection (event streams included), wait for a running build, close the server. */
  close(): Promise<void>;
  /** Build now (no debounce). Resolves when a build that started after this call has finished; never rejects for a build error. */
  rebuild(): Promise<void>;
  /** Listen to events; returns a function that stops listening. */
  on(listener: (e: PreviewEvent) => void): () => void;
  /** The last state. */
  state(): PreviewState;
}

/** An error as terminal or page text: message, one line per problem, then the hint. */
export function formatError(err: NewsletterError | Error): string {
  if (err instanceof NewsletterError) {
    const lines = [`error: ${err.message}`, ...err.problems.map((p) => `  ${formatProblem(p)}`)];
    if (err.hint) lines.push(`  ${err.hint}`);
    return lines.join('\n');
  }
  return `error: unexpected failure: ${err.message}`;
}

/** Editors' temporary and backup files: never a reason to rebuild. */
function isNoise(name: string): boolean {
  const base = path.basename(name);
  return base.startsWith('.') || base.endsWith('~') || /\.(sw[a-p]|tmp|bak)$/i.test(base) || base === '4913';
}

/**
 * Watches a folder, and with `recursive` each folder under it, one fs.watch per folder
 * (inotify on a folder reports changes to the files in it, renames included, so an
 * editor's atomic save is seen). Tolerates the folder not existing: `sync()` again
 * when it may have appeared.
 */
class FolderWatch {
  private readonly watchers = new Map<string, FSWatcher>();
  private closed = false;

  constructor(
    readonly top: string,
    private readonly recursive: boolean,
    private readonly onChange: (rel: string | null) => void,
  ) {}

  sync(): void {
    if (this.closed) return;
    const dirs = new Set<string>();
    const walk = (dir: string) => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      dirs.add(dir);
      if (!this.recursive) return;
      for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') walk(path.join(dir, e.name));
    };
    walk(this.top);
    for (const [dir, w] of this.watchers) {
      if (!dirs.has(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of dirs) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: true }, (type, name) => this.fire(dir, type, name));
        w.on('error', () => {
          // The folder went away (deleted or renamed): forget it, and look again.
          w.close();
          if (this.watchers.get(dir) === w) this.watchers.delete(dir);
          this.sync();
        });
        this.watchers.set(dir, w);
      } catch {
        // Gone between readdir and watch: the next sync finds it or not.
      }
    }
  }

  private fire(dir: string, type: string, name: string | Buffer | null): void {
    if (this.closed) return;
    if (type === 'rename' && this.recursive) this.sync(); // a folder may have appeared or gone
    this.onChange(name == null ? null : path.relative(this.top, path.join(dir, name.toString())));
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}

interface SseClient {
  res: ServerResponse;
}

/** Start the preview: watch, build once, listen. Throws NewsletterError for a wrong issue name, a missing issue file or a port in use. */
export async function startPreview(options: PreviewOptions): Promise<PreviewServer> {
  const root = path.resolve(options.root);
  const { file: issueFile, slug } = resolveIssueFile(options.issue, root);
  const templatesDir = path.resolve(root, options.build?.templatesDir ?? 'templates');
  const configFile = path.resolve(root, options.build?.configFile ?? CONFIG_FILE);
  const buildOptions: BuildOptions = { ...options.build, root, templatesDir, configFile, write: options.build?.write ?? true };
  const debounceMs = options.debounceMs ?? 50;
  const rel = (f: string) => path.relative(root, f) || f;
  const relDir = (d: string) => (path.relative(root, d) || '.') + '/';

  const listeners = new Set<(e: PreviewEvent) => void>();
  if (options.onEvent) listeners.add(options.onEvent);
  const emit = (e: PreviewEvent) => {
    for (const l of listeners) {
      try {
        l(e);
      } catch {
        // A listener's failure must not stop the watch loop.
      }
    }
  };

  // ---- state
  let closed = false;
  let buildCount = 0;
  let building = false;
  let lastGood: { build: number; result: BuildResult; ms: number; at: Date; sources: Map<string, string[]> } | undefined;
  let lastError: { build: number; error: NewsletterError | Error; ms: number; at: Date } | undefined;
  let latest: { ms: number; at: Date } | undefined;
  let fatal: NewsletterError | undefined;
  const sse = new Set<SseClient>();

  // ---- building: debounced, one at a time, and one more if a change came in during a build
  const changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;

  /** The lines of the files a finding or problem can point at (the issue and config), read after each build. */
  const readSources = (): Map<string, string[]> => {
    const sources = new Map<string, string[]>();
    for (const f of [issueFile, configFile]) {
      try {
        sources.set(rel(f), readFileSync(f, 'utf8').split(/\r?\n/));
      } catch {
        // Shown without its line, then.
      }
    }
    return sources;
  };

  const buildOnce = async (): Promise<void> => {
    const because = [...changed];
    changed.clear();
    building = true;
    const started = performance.now();
    let outcome: { result: BuildResult } | { error: NewsletterError | Error };
    try {
      outcome = { result: await buildIssue(options.issue, buildOptions) };
    } catch (err) {
      outcome = { error: err instanceof Error ? err : new Error(String(err)) };
    }
    const ms = performance.now() - started;
    const at = new Date();
    building = false;
    if (buildCount === 0 && 'error' in outcome && outcome.error instanceof NewsletterError && outcome.error.code === 'EISSUE_NOT_FOUND') {
      // A misspelt issue name at start: startPreview throws it rather than serve an error page forever.
      fatal = outcome.error;
      return;
    }
    const build = ++buildCount;
    latest = { ms, at };
    if ('result' in outcome) {
      lastGood = { build, result: outcome.result, ms, at, sources: readSources() };
      lastError = undefined;
      broadcast('build', { build, ms: Math.round(ms) });
      if (!closed) emit({ type: 'built', build, ms, result: outcome.result, changed: because });
    } else {
      lastError = { build, error: outcome.error, ms, at };
      broadcast('error', { build, ms: Math.round(ms), ...errorJson(outcome.error, readSources()) });
      if (!closed) emit({ type: 'failed', build, ms, error: outcome.error, changed: because });
    }
  };

  const kick = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await buildOnce();
        } while (again && !closed);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const onChange = (file: string) => {
    if (closed) return;
    changed.add(rel(file));
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!closed) void kick();
    }, debounceMs);
  };

  // ---- watching: the issue's folder (the issue file only), the pictures (all of issues/assets/:
  // an issue made --from last month's keeps pictures in last month's folder), the templates,
  // the config's folder (the config only)
  const issueDir = path.dirname(issueFile);
  const assetsDir = path.join(issueDir, 'assets');
  const configDir = path.dirname(configFile);
  const assets = new FolderWatch(assetsDir, true, (r) => (r === null || !isNoise(r)) && onChange(r === null ? assetsDir : path.join(assetsDir, r)));
  const templates = new FolderWatch(templatesDir, true, (r) => (r === null || !isNoise(r)) && onChange(r === null ? templatesDir : path.join(templatesDir, r)));
  const issueFolder = new FolderWatch(issueDir, false, (r) => {
    if (r === null || r === path.basename(issueFile)) onChange(issueFile);
    if (r === 'assets') {
      assets.sync();
      onChange(assetsDir);
    }
  });
  const configFolder = new FolderWatch(configDir, false, (r) => {
    if (r === null || r === path.basename(configFile)) onChange(configFile);
    if (r !== null && path.join(configDir, r) === templatesDir) {
      templates.sync(); // the templates folder itself was replaced
      onChange(templatesDir);
    }
  });
  const folders = [issueFolder, assets, templates, configFolder];
  for (const f of folders) f.sync();
  const watching = [
    `${rel(issueFile)} (in ${relDir(issueDir)})`,
    `${relDir(assetsDir)} and below`,
    `${relDir(templatesDir)} and below`,
    `${rel(configFile)} (in ${relDir(configDir)})`,
  ];

  // ---- the HTTP server
  const nonce = randomBytes(16).toString('base64');
  let port = 0;
  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `preview server error: ${(err as Error).message}\n`);
      else res.destroy();
    }
  });

  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}, head = false) => {
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': String(Buffer.byteLength(body)),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      ...extra,
    });
    res.end(head ? undefined : body);
  };

  const stateJson = () => {
    const r = lastGood?.result;
    const sources = lastGood?.sources ?? new Map<string, string[]>();
    return {
      slug,
      issueFile: rel(issueFile),
      build: buildCount,
      building,
      ok: buildCount > 0 && !lastError,
      ms: latest ? Math.round(latest.ms) : null,
      at: latest?.at.toISOString() ?? null,
      emailBuild: lastGood?.build ?? 0,
      emailMs: lastGood ? Math.round(lastGood.ms) : null,
      emailAt: lastGood?.at.toISOString() ?? null,
      label: r?.issue.label ?? null,
      subject: r?.issue.subject ?? null,
      size: r ? r.bytes : null,
      limit: GMAIL_CLIP_BYTES,
      warnAt: SIZE_WARNING_BYTES,
      files: r ? { html: rel(r.files.html), text: rel(r.files.text), eml: rel(r.files.eml), report: rel(r.files.report) } : null,
      counts: r?.report.counts ?? null,
      findings: r ? r.report.findings.map((f) => findingJson(f, sources)) : [],
      accepted: r ? r.report.accepted.map((f) => ({ ...findingJson(f, sources), reason: f.reason })) : [],
      off: r?.report.off ?? [],
      notes: r?.report.notes ?? [],
      error: lastError ? { build: lastError.build, ...errorJson(lastError.error, readSources()) } : null,
      watching,
    };
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    // Only this machine's names: a web page elsewhere cannot read the preview by DNS rebinding.
    const host = (req.headers.host ?? '').toLowerCase();
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      return send(res, 403, 'text/plain; charset=utf-8', 'Forbidden: open the preview as http://127.0.0.1:' + port + '/\n');
    }
    const { pathname } = new URL(req.url ?? '/', 'http://127.0.0.1');
    const routes = ['/', '/email.html', '/email.txt', '/state.json', '/events'];
    const r = lastGood?.result;
    // The issue's local images, so the preview shows them before they are uploaded.
    const asset = pathname.startsWith('/assets/') ? r?.assets.find((a) => `/assets/${a.name}` === pathname) : undefined;
    if (!routes.includes(pathname) && !asset) return send(res, 404, 'text/plain; charset=utf-8', `Not found: ${pathname}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'Method not allowed\n', { Allow: 'GET, HEAD' });
    const head = req.method === 'HEAD';
    if (asset) return send(res, 200, asset.contentType, asset.content, { 'Cache-Control': 'max-age=31536000, immutable' }, head);
    switch (pathname) {
      case '/':
        return send(res, 200, 'text/html; charset=utf-8', pageHtml(slug, nonce), {
          'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; frame-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'`,
          'Referrer-Policy': 'no-referrer',
        }, head);
      case '/email.html':
        if (!r) return send(res, 503, 'text/html; charset=utf-8', NO_BUILD_HTML, {}, head);
        // The email as built; no script of any kind runs in it (it has none; this makes sure).
        return send(res, 200, 'text/html; charset=utf-8', replaceAssetUrls(r.html, r.assets, (a) => `/assets/${a.name}`), { 'Content-Security-Policy': "script-src 'none'; object-src 'none'; base-uri 'none'", 'Referrer-Policy': 'no-referrer' }, head);
      case '/email.txt':
        if (!r) return send(res, 503, 'text/plain; charset=utf-8', 'No good build yet: fix the error shown in the preview.\n', {}, head);
        return send(res, 200, 'text/plain; charset=utf-8', r.text, {}, head);
      case '/state.json':
        return send(res, 200, 'application/json; charset=utf-8', JSON.stringify(stateJson(), null, 2) + '\n', {}, head);
      case '/events': {
        res.writeHead(200, {
          'Content-Type': 'text/event-stream; charset=utf-8',
          'Cache-Control': 'no-store',
          Connection: 'keep-alive',
          'X-Content-Type-Options': 'nosniff',
        });
        if (head) return res.end();
        req.socket.setNoDelay(true);
        const client: SseClient = { res };
        sse.add(client);
        res.on('close', () => sse.delete(client));
        res.on('error', () => sse.delete(client));
        // Reconnect quickly after a restart of the server; then the current state, so a page
        // that connects (or reconnects) is up to date without asking.
        res.write('retry: 1000\n\n');
        if (lastError) writeEvent(res, 'error', { build: lastError.build, ms: Math.round(lastError.ms), ...errorJson(lastError.error, readSources()) });
        else if (lastGood) writeEvent(res, 'build', { build: lastGood.build, ms: Math.round(lastGood.ms) });
        return;
      }
    }
  };

  const writeEvent = (res: ServerResponse, event: string, data: unknown) => {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const broadcast = (event: 'build' | 'error', data: unknown) => {
    if (closed) return;
    for (const c of sse) writeEvent(c.res, event, data);
  };

  const stopWatching = () => {
    clearTimeout(timer);
    for (const f of folders) f.close();
  };

  // ---- start: listen, first build, then `listening`
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: options.port ?? 0, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    stopWatching();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_SOCKET_BAD_PORT') throw new NewsletterError('EUSAGE', `${options.port} is not a port number (1 to 65535)`, { hint: 'Give another --port, or leave --port out to use a free one.', cause: err });
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new NewsletterError('EUSAGE', `cannot listen on ${host}:${options.port}: ${code === 'EADDRINUSE' ? 'the port is in use' : 'not allowed'}`, {
        hint: 'Give another --port, or leave --port out to use a free one.',
        cause: err,
      });
    }
    throw err;
  }
  port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}/`;

  const close = async () => {
    if (closed) return;
    closed = true;
    stopWatching();
    for (const c of sse) c.res.end();
    sse.clear();
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await stopped;
    await running; // never rejects
  };

  await kick();
  if (fatal) {
    await close();
    throw fatal;
  }
  emit({ type: 'listening', url });

  return {
    url,
    port,
    watching,
    close,
    rebuild: async () => {
      if (closed) return;
      clearTimeout(timer);
      timer = undefined;
      await kick();
    },
    on: (listener) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    state: () => ({
      build: buildCount,
      building,
      result: lastGood?.result,
      resultBuild: lastGood?.build,
      error: lastError?.error,
      ms: latest?.ms,
      at: latest?.at,
    }),
  };
}

/** `where` of a finding: file:line:col path, and the YAML line it points at. */
function findingJson(f: ReportedFinding | Finding, sources: Map<string, string[]>) {
  const w = f.where;
  const source = w?.file && w.line ? sources.get(w.file)?.[w.line - 1] : undefined;
  return {
    rule: f.rule,
    severity: f.severity,
    message: f.message,
    where: w ?? null,
    whereText: formatWhere(w),
    source: source ?? null,
    relevelled: 'relevelled' in f ? (f.relevelled ?? null) : null,
  };
}

/** An error for the page: message, problems (each with the YAML line it points at), hint, and the terminal text. */
function errorJson(err: NewsletterError | Error, sources: Map<string, string[]>) {
  const isOurs = err instanceof NewsletterError;
  return {
    code: isOurs ? err.code : null,
    message: isOurs ? err.message : `unexpected failure: ${err.message}`,
    problems: isOurs
      ? err.problems.map((p) => {
          const m = p.where ? /^(.*?):(\d+)(?::\d+)?$/.exec(p.where) : null;
          const line = m ? Number(m[2]) : undefined;
          const source = m && line ? sources.get(m[1]!)?.[line - 1] : undefined;
          return { where: p.where ?? null, path: p.path ?? null, message: p.message, text: formatProblem(p), line: line ?? null, source: source ?? null };
        })
      : [],
    hint: isOurs ? (err.hint ?? null) : null,
    text: formatError(err),
  };
}

const NO_BUILD_HTML = `<!doctype html><html lang="en"><meta charset="utf-8"><title>No build yet</title>
<p style="font:16px/1.5 system-ui,sans-serif;margin:2em;color:#222">No good build yet: fix the error shown above this frame and save. The preview updates by itself.</p></html>
`;

/** The preview page: plain HTML, CSS and JS, all inline (the CSP allows only these, by nonce). */
function pageHtml(slug: string, nonce: string): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Preview: ${esc(slug)}</title>
<style nonce="${nonce}">
  :root { color-scheme: light; --ink: #1d1d1f; --muted: #555; --line: #d0d0d7; --bg: #f4f4f6; --accent: #0b4f9c;
          --warn-ink: #6b4100; --warn-bg: #fff4d6; --err-ink: #8a0000; --err-bg: #fde7e7; --ok-ink: #1c5e20; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: var(--ink); background: var(--bg); }
  header { background: #fff; border-bottom: 1px solid var(--line); padding: 12px 20px; }
  h1 { font-size: 1.25rem; margin: 0; }
  h1 .slug { font-weight: normal; color: var(--muted); }
  .subject { margin: 2px 0 0; color: var(--muted); }
  .facts { display: flex; flex-wrap: wrap; gap: 6px 20px; margin: 8px 0 0; padding: 0; list-style: none; font-size: .95rem; }
  .size.warn { color: var(--warn-ink); background: var(--warn-bg); padding: 0 6px; border-radius: 4px; font-weight: 600; }
  .size.over { color: var(--err-ink); background: var(--err-bg); padding: 0 6px; border-radius: 4px; font-weight: 600; }
  .bar { display: inline-block; vertical-align: middle; width: 120px; height: 8px; background: #e4e4ea; border-radius: 4px; overflow: hidden; margin-left: 6px; }
  .bar > span { display: block; height: 100%; background: var(--ok-ink); }
  .warn .bar > span { background: #b36b00; } .over .bar > span { background: var(--err-ink); }
  .live { color: var(--muted); } .live.down { color: var(--err-ink); font-weight: 600; }
  main { padding: 16px 20px 40px; }
  .alert { border: 2px solid var(--err-ink); background: var(--err-bg); color: var(--err-ink); border-radius: 6px; padding: 12px 16px; margin: 0 0 16px; }
  .alert h2 { font-size: 1.1rem; margin: 0 0 6px; }
  .alert ul { margin: 6px 0; padding-left: 1.2em; }
  .alert p { margin: 6px 0; }
  .alert pre, .finding pre { margin: 4px 0 0; padding: 4px 8px; background: #fff; color: var(--ink); border: 1px solid var(--line); border-radius: 4px; overflow-x: auto; white-space: pre; font-size: .9rem; }
  [role=tablist] { display: flex; gap: 4px; border-bottom: 1px solid var(--line); margin-bottom: 16px; }
  [role=tab] { font: inherit; padding: 8px 16px; border: 1px solid transparent; border-bottom: none; background: none; color: var(--accent); cursor: pointer; border-radius: 6px 6px 0 0; margin-bottom: -1px; }
  [role=tab][aria-selected=true] { background: #fff; border-color: var(--line); color: var(--ink); font-weight: 600; }
  [role=tab]:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
  .panes { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
  figure { margin: 0; }
  figcaption { font-size: .9rem; color: var(--muted); margin-bottom: 4px; }
  iframe { display: block; box-sizing: content-box; border: 1px solid var(--line); background: #fff; height: 80vh; }
  .stale iframe { opacity: .55; }
  .text { background: #fff; border: 1px solid var(--line); padding: 16px; max-width: 80ch; white-space: pre-wrap; overflow-wrap: anywhere; font: 15px/1.5 ui-monospace, Menlo, Consolas, monospace; }
  .checks h2 { font-size: 1.05rem; margin: 16px 0 6px; }
  .checks ul { list-style: none; margin: 0; padding: 0; }
  .finding { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--line); border-radius: 4px; padding: 8px 12px; margin: 0 0 8px; max-width: 110ch; }
  .finding.error { border-left-color: var(--err-ink); } .finding.warning { border-left-color: #b36b00; } .finding.accepted { border-left-color: var(--muted); }
  .finding code { font-size: .9rem; } .finding .rule { font-weight: 600; }
  .finding p { margin: 2px 0; }
  .none { color: var(--ok-ink); }
  [hidden] { display: none !important; }
</style>
</head>
<body>
<header>
  <h1>Preview <span class="slug">${esc(slug)}</span> <span id="label"></span></h1>
  <p class="subject" id="subject"></p>
  <ul class="facts">
    <li id="size" class="size">Building&hellip;</li>
    <li id="time"></li>
    <li id="live" class="live" aria-live="polite">Connecting&hellip;</li>
  </ul>
</header>
<main>
  <div id="error" class="alert" role="alert" hidden></div>
  <div role="tablist" aria-label="Views">
    <button role="tab" id="tab-email" aria-controls="panel-email" aria-selected="true">Email</button>
    <button role="tab" id="tab-text" aria-controls="panel-text" aria-selected="false" tabindex="-1">Plain text</button>
    <button role="tab" id="tab-checks" aria-controls="panel-checks" aria-selected="false" tabindex="-1">Checks</button>
  </div>
  <section role="tabpanel" id="panel-email" aria-labelledby="tab-email">
    <div class="panes" id="panes">
      <figure><figcaption>Desktop, 600 px wide</figcaption>
        <iframe id="frame-desktop" name="desktop" title="The email at 600 px (desktop)" width="600" sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox"></iframe></figure>
      <figure><figcaption>Phone, 375 px wide</figcaption>
        <iframe id="frame-phone" name="phone" title="The email at 375 px (phone)" width="375" sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox"></iframe></figure>
    </div>
  </section>
  <section role="tabpanel" id="panel-text" aria-labelledby="tab-text" hidden>
    <pre class="text" id="text" tabindex="0"></pre>
  </section>
  <section role="tabpanel" id="panel-checks" aria-labelledby="tab-checks" class="checks" hidden></section>
</main>
<script nonce="${nonce}">
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const el = (tag, props, ...children) => {
    const e = document.createElement(tag);
    Object.assign(e, props || {});
    for (const c of children) if (c != null) e.append(c);
    return e;
  };
  const kb = (n) => (n / 1000).toFixed(1) + ' KB';
  let shownEmail = -1;   // the build whose email the frames show
  let seen = -1;         // the latest build counter rendered
  let inFlight = null, want = false;

  // Tabs: click, or arrow keys between them.
  const tabs = [...document.querySelectorAll('[role=tab]')];
  const select = (tab) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute('aria-controls')).hidden = !on;
    }
  };
  for (const t of tabs) {
    t.addEventListener('click', () => select(t));
    t.addEventListener('keydown', (e) => {
      const i = tabs.indexOf(t);
      const j = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? tabs.length - 1 : null;
      if (j === null) return;
      e.preventDefault();
      const next = tabs[(j + tabs.length) % tabs.length];
      select(next); next.focus();
    });
  }

  // Each frame as tall as its email, so the email gets the full width (no scrollbar) and the page scrolls.
  for (const f of [$('frame-desktop'), $('frame-phone')]) {
    f.addEventListener('load', () => {
      try {
        const d = f.contentDocument;
        if (d && d.documentElement) f.style.height = Math.max(200, d.documentElement.scrollHeight) + 'px';
      } catch (e) { /* not readable: keep the default height */ }
    });
  }

  const whereLine = (f) => {
    const parts = [];
    if (f.whereText) parts.push(el('code', { textContent: f.whereText }), ' ');
    return parts;
  };
  const findingItem = (f, extra) => el('li', { className: 'finding ' + (extra ? 'accepted' : f.severity) },
    el('p', {}, el('span', { className: 'rule', textContent: '[' + f.rule + '] ' }), ...whereLine(f)),
    el('p', { textContent: f.message }),
    f.source != null ? el('pre', { textContent: (f.where && f.where.line ? f.where.line + ' | ' : '') + f.source }) : (f.where && f.where.excerpt ? el('pre', { textContent: f.where.excerpt }) : null),
    f.relevelled ? el('p', { textContent: '(' + f.relevelled.from + ' made ' + f.severity + ' in config: ' + f.relevelled.reason + ')' }) : null,
    extra || null);

  const renderChecks = (s) => {
    const panel = $('panel-checks');
    const n = s.findings.length;
    $('tab-checks').textContent = 'Checks (' + n + ')';
    const parts = [];
    for (const [sev, title] of [['error', 'Errors'], ['warning', 'Warnings']]) {
      const group = s.findings.filter((f) => f.severity === sev);
      if (!group.length) continue;
      parts.push(el('h2', { textContent: title + ' (' + group.length + ')' }), el('ul', {}, ...group.map((f) => findingItem(f))));
    }
    if (!n) parts.push(el('p', { className: 'none', textContent: s.counts ? 'No errors or warnings.' : 'No build yet.' }));
    if (s.accepted.length) {
      parts.push(el('h2', { textContent: 'Accepted in the issue file (' + s.accepted.length + ')' }),
        el('ul', { id: 'accepted' }, ...s.accepted.map((f) => findingItem(f, el('p', { textContent: 'Accepted: ' + f.reason })))));
    }
    for (const o of s.off) parts.push(el('p', { textContent: 'Rule "' + o.rule + '" is off in config (' + o.reason + ')' + (o.hidden ? ': ' + o.hidden + ' finding(s) not shown' : '') }));
    for (const note of s.notes) parts.push(el('p', { textContent: 'Note: ' + note }));
    panel.replaceChildren(...parts);
  };

  const renderError = (s) => {
    const box = $('error');
    document.body.classList.toggle('failed', !!s.error);
    $('panes').classList.toggle('stale', !!s.error);
    if (!s.error) { box.hidden = true; box.replaceChildren(); return; }
    const e = s.error;
    box.replaceChildren(...[
      el('h2', { textContent: 'The last save could not be built' }),
      el('p', { textContent: e.message }),
      e.problems.length ? el('ul', {}, ...e.problems.map((p) => el('li', {},
        el('p', { textContent: p.text }),
        p.source != null ? el('pre', { textContent: p.line + ' | ' + p.source }) : null))) : null,
      e.hint ? el('p', { textContent: e.hint }) : null,
      el('p', { textContent: s.emailBuild ? 'Below: the last good build. Fix the file and save; the preview updates by itself.' : 'Fix the file and save; the preview updates by itself.' }),
    ].filter((c) => c != null));
    box.hidden = false;
  };

  const render = async (s) => {
    seen = s.build;
    document.body.dataset.build = String(s.build);
    renderError(s);
    if (s.label) $('label').textContent = '\\u2014 ' + s.label;
    $('subject').textContent = s.subject ? 'Subject: ' + s.subject : '';
    const size = $('size');
    if (s.size) {
      const pct = Math.round((s.size.html / s.limit) * 100);
      size.className = 'size' + (s.size.html > s.limit ? ' over' : s.size.html > s.warnAt ? ' warn' : '');
      const bar = el('span', { className: 'bar' }, el('span'));
      bar.firstChild.style.width = Math.min(100, pct) + '%';
      bar.setAttribute('aria-hidden', 'true');
      size.replaceChildren('HTML ' + kb(s.size.html) + ' of Gmail\\'s ' + kb(s.limit) + ' clipping limit (' + pct + '%)' +
        (s.size.html > s.limit ? ': OVER, Gmail will clip it' : s.size.html > s.warnAt ? ': close to the limit' : ''), bar);
    } else size.textContent = 'No good build yet';
    $('time').textContent = s.ms != null ? (s.ok ? 'Built' : 'Failed') + ' in ' + s.ms + ' ms at ' + new Date(s.at).toLocaleTimeString() + ' (build ' + s.build + ')' : '';
    renderChecks(s);
    if (s.emailBuild) await showEmail(s.emailBuild);
  };

  // Point both frames (and the text tab) at build n's email, once per build.
  const showEmail = async (n) => {
    if (n === shownEmail) return;
    shownEmail = n;
    for (const f of [$('frame-desktop'), $('frame-phone')]) f.src = '/email.html?build=' + n;
    const t = await fetch('/email.txt?build=' + n, { cache: 'no-store' });
    if (t.ok && n === shownEmail) $('text').textContent = await t.text();
  };

  // One state fetch at a time; a newer event during one asks for one more.
  const refresh = async () => {
    if (inFlight) { want = true; return; }
    do {
      want = false;
      inFlight = fetch('/state.json', { cache: 'no-store' }).then((r) => r.json()).then(render);
      try { await inFlight; } catch (e) { /* the server went away: the event stream says so */ } finally { inFlight = null; }
    } while (want);
  };

  const live = $('live');
  const events = new EventSource('/events');
  events.addEventListener('open', () => { live.textContent = 'Live: updates on every save'; live.classList.remove('down'); });
  events.addEventListener('build', (e) => {
    const n = JSON.parse(e.data).build;
    if (n === seen) return;
    showEmail(n); // the frames start loading at once, while the state comes
    refresh();
  });
  // "error" is both our failed-build event (a MessageEvent, with data) and the stream's own connection error (no data).
  events.addEventListener('error', (e) => {
    if (typeof e.data === 'string') { refresh(); return; }
    live.textContent = 'Disconnected from the preview server: reconnecting (is build-issue --watch still running?)';
    live.classList.add('down');
  });
})();
</script>
</body>
</html>
`;
}
