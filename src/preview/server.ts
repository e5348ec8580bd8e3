/**
 * The preview server behind `build-issue preview <issue>`: builds the issue, serves a
 * page that shows the email at 600 px and 375 px (in a chosen view), its plain text and its check
 * findings, and rebuilds when the issue file, its assets, the templates or the config
 * change. The page updates itself over server-sent events after every rebuild.
 *
 * Library side only: nothing here prints or exits. The CLI listens to the events
 * (`onEvent` / `on`) and prints what it wants.
 *
 * The parts, each in its own file:
 *   page.ts        finds and reads the page's own files (templates/preview/: index.html, preview.css, preview.js)
 *   http.ts        the routes and their headers (the page's Content-Security-Policy among them)
 *   sse.ts         the server-sent event streams
 *   builder.ts     the build loop: debounced, one build at a time
 *   watch.ts       what is watched, and how
 *   state-json.ts  /state.json and the error event's data
 *   changes.ts     /changes.html: what changed since the last test send
 *   views.ts       the email's views (?view=dark, inverted, no-style, images-off), shared with the screenshots
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { resolveIssueFile, type BuildOptions } from '../build-issue.js';
import { CONFIG_FILE } from '../config.js';
import { NewsletterError } from '../errors.js';
import { Builder } from './builder.js';
import { changesPage } from './changes.js';
import { previewRoutes } from './http.js';
import { loadPreviewPage } from './page.js';
import { SseHub } from './sse.js';
import { errorEventJson, stateJson } from './state-json.js';
import type { PreviewEvent, PreviewOptions, PreviewServer } from './types.js';
import { watchProject } from './watch.js';

export { formatError } from './state-json.js';
export type { PreviewEvent, PreviewOptions, PreviewServer, PreviewState } from './types.js';

/** Start the preview: watch, build once, listen. Throws NewsletterError for a wrong issue name, a missing issue file or a port in use. */
export async function startPreview(options: PreviewOptions): Promise<PreviewServer> {
  const root = path.resolve(options.root);
  const { file: issueFile, slug } = resolveIssueFile(options.issue, root);
  const templatesDir = path.resolve(root, options.build?.templatesDir ?? 'templates');
  const configFile = path.resolve(root, options.build?.configFile ?? CONFIG_FILE);
  const buildOptions: BuildOptions = { ...options.build, root, templatesDir, configFile, write: options.build?.write ?? true };
  // Before anything starts: a missing page file is an incomplete install, said at once.
  const page = loadPreviewPage(slug);

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

  const sse = new SseHub();
  const builder = new Builder({
    root,
    issue: options.issue,
    build: buildOptions,
    sourceFiles: [issueFile, configFile],
    debounceMs: options.debounceMs ?? 30,
    // The page reloads its frames as soon as the email is made; the checks' state follows with "build".
    onEmail: (build) => {
      sse.broadcast('email', { build });
      emit({ type: 'email', build });
    },
    onBuilt: (good, changed) => {
      sse.broadcast('build', { build: good.build, ms: Math.round(good.ms) });
      emit({ type: 'built', build: good.build, ms: good.ms, result: good.result, changed });
    },
    onFailed: (failed, changed) => {
      sse.broadcast('error', errorEventJson(failed));
      emit({ type: 'failed', build: failed.build, ms: failed.ms, error: failed.error, changed });
    },
  });
  const watch = watchProject({ root, issueFile, templatesDir, configFile }, (file) => builder.change(file));
  const { watching } = watch;

  let port = 0;
  const server = createServer(
    previewRoutes({
      port: () => port,
      page,
      builder,
      sse,
      state: () => stateJson(builder, { slug, root, issueFile, watching }),
      changes: () => changesPage(root, slug, builder.lastGood?.result),
    }),
  );

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
    watch.close();
    await builder.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_SOCKET_BAD_PORT')
      throw new NewsletterError('EUSAGE', `${options.port} is not a port number (1 to 65535)`, {
        hint: 'Give another --port, or leave --port out to use a free one.',
        cause: err,
      });
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

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    const stopping = builder.close(); // no more builds, nor their events
    watch.close();
    sse.close();
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await stopped;
    await stopping; // waits for a running build; never rejects
  };

  await builder.rebuild();
  if (builder.fatal) {
    await close();
    throw builder.fatal;
  }
  emit({ type: 'listening', url });

  return {
    url,
    port,
    watching,
    close,
    rebuild: () => builder.rebuild(),
    on: (listener) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    state: () => ({
      build: builder.count,
      building: builder.building,
      result: builder.lastGood?.result,
      resultBuild: builder.lastGood?.build,
      error: builder.lastError?.error,
      ms: builder.latest?.ms,
      at: builder.latest?.at,
    }),
  };
}
