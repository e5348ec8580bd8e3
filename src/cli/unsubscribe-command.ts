/** `unsubscribe-server`: the one-click unsubscribe endpoint, until Ctrl-C. */
import path from 'node:path';
import { NewsletterError } from '../errors.js';
import { projectEnv } from './build-commands.js';
import { ExitCode, type Io } from './io.js';
import type { Project } from './project.js';

export async function runUnsubscribeServer(o: { port?: number; host?: string }, io: Io, project: Project): Promise<number> {
  const { loadConfig } = await import('../config.js');
  const { unsubscribeKeysFor } = await import('../send/unsubscribe-token.js');
  const { startUnsubscribeServer } = await import('../send/unsubscribe-server.js');
  const config = await loadConfig(project.configFile, project.root);
  if (!config.suppressionFile)
    throw new NewsletterError('ECONFIG', 'suppressionFile is not set in the config: the endpoint has nowhere to record who unsubscribed', {
      hint: 'Add suppressionFile: lists/unsubscribed.csv to newsletter.config.yaml (the file sends skip; it is created on the first unsubscribe).',
    });
  const keys = unsubscribeKeysFor(config, await projectEnv(io, project.root), 'server')!;
  const file = path.resolve(project.root, config.suppressionFile);
  let count = 0;
  const server = await startUnsubscribeServer({
    keys,
    suppressionFile: file,
    listName: config.sender.name,
    mailto: config.unsubscribe.mailto,
    host: o.host,
    port: o.port,
    onUnsubscribe: (how, added) => {
      if (added) count++;
      io.out(`${new Date().toISOString()} unsubscribed (${how})${added ? '' : ', already on the suppression list'}\n`);
    },
  });
  io.graceful?.('watch');
  io.out(
    `Unsubscribe endpoint: ${server.url}  (recording to ${path.relative(project.cwd, file)}; Ctrl-C to stop)\n` +
      (config.unsubscribe.url
        ? `  ${config.unsubscribe.url} must reach it (see "Unsubscribing" in the README for the web server's part).\n`
        : '  unsubscribe.url is not set in the config: the emails carry no link to it yet.\n'),
  );
  await new Promise<void>((resolve) => {
    if (!io.signal) return;
    if (io.signal.aborted) return resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  io.out(`Stopped: ${count} unsubscribed while it ran.\n`);
  return ExitCode.OK;
}
