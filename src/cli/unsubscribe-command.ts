/** `unsubscribe-server`: the one-click unsubscribe endpoint, until Ctrl-C. */
import path from 'node:path';
import { NewsletterError } from '../errors.js';
import { projectEnv } from './build-commands.js';
import { ExitCode, jsonText, type Io } from './io.js';
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

/** `inbox`: read what came back, sort it, suppress who must not be sent to again. */
export async function runInbox(
  o: { from?: string; folder?: string; list?: string; dryRun?: boolean; moveTo?: string; json?: boolean },
  io: Io,
  project: Project,
): Promise<number> {
  const { loadConfig } = await import('../config.js');
  const { readInbox, RETURN_KINDS } = await import('../send/inbox.js');
  const config = await loadConfig(project.configFile, project.root);
  const fromCwd = (p: string | undefined) => (p === undefined ? undefined : path.relative(project.root, path.resolve(project.cwd, p)));
  const r = await readInbox({
    root: project.root,
    config,
    env: await projectEnv(io, project.root),
    from: fromCwd(o.from),
    folder: o.folder,
    listFile: fromCwd(o.list),
    dryRun: o.dryRun,
    moveTo: o.moveTo,
  });
  if (o.json) {
    io.out(jsonText({ ok: true, ...r }));
    return ExitCode.OK;
  }
  const label: Record<string, string> = {
    'hard-bounce': 'hard bounce',
    'soft-bounce': 'soft bounce',
    complaint: 'complaint',
    unsubscribe: 'unsubscribe',
    'auto-reply': 'auto-reply',
    other: 'other',
  };
  const does: Record<string, string> = {
    'hard-bounce': 'suppressed',
    'soft-bounce': `suppressed after soft bounces on 3 sends (${r.softWatched} watched)`,
    complaint: 'suppressed',
    unsubscribe: 'suppressed',
    'auto-reply': 'ignored',
    other: 'left alone, for a person to read',
  };
  const lines = [`Read ${r.read} message${r.read === 1 ? '' : 's'} from ${r.source}: ${r.read - r.seenBefore} new, ${r.seenBefore} read before`];
  for (const k of RETURN_KINDS) lines.push(`  ${label[k]!.padEnd(12)} ${String(r.counts[k]).padStart(4)}  ${does[k]}`);
  const file = path.relative(project.cwd, path.resolve(project.root, config.suppressionFile!));
  lines.push(
    r.dryRun
      ? `Dry run: nothing written; ${r.suppressed} address${r.suppressed === 1 ? '' : 'es'} would be added to ${file}.`
      : `${r.suppressed} address${r.suppressed === 1 ? '' : 'es'} added to ${file}${r.moved ? `; ${r.moved} message${r.moved === 1 ? '' : 's'} moved to ${o.moveTo}` : ''}.`,
  );
  io.out(`${lines.join('\n')}\n`);
  return ExitCode.OK;
}
