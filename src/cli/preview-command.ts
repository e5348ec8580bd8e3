/** `preview` (was --watch): the live preview until Ctrl-C, and `new`: the next issue's file. */
import path from 'node:path';
import { printable } from '../errors.js';
import { COMMAND_NAMES } from './help.js';
import { ExitCode, jsonText, kb, type Io } from './io.js';
import { issueArg, type Project } from './project.js';

/**
 * The preview server until Ctrl-C (then exit 0: stopping is how a preview ends). Prints each
 * rebuild (or its error) as it happens. Ctrl-C before the server is up stops at once (130).
 */
export async function runPreview(issue: string, o: { port?: number }, io: Io, project: Project): Promise<number> {
  const { startPreview, formatError } = await import('../preview/server.js');
  const rel = (f: string) => path.relative(project.cwd, f);
  const server = await startPreview({
    root: project.root,
    issue: issueArg(issue, project),
    port: o.port ?? 0,
    build: { configFile: project.configFile },
    onEvent: (e) => {
      if (e.type === 'built') {
        const { error, warning } = e.result.report.counts;
        const changed = e.changed.length ? ` (${e.changed.join(', ')})` : '';
        io.out(
          `Built ${e.result.slug} in ${Math.round(e.ms)} ms${changed}: ${kb(e.result.bytes.html)} HTML, ${error} error${error === 1 ? '' : 's'}, ${warning} warning${warning === 1 ? '' : 's'}\n`,
        );
        if (e.result.schemaUpdated) io.out(`Updated ${rel(e.result.schemaUpdated)} (the schema your editor autocompletes from).\n`);
      } else if (e.type === 'failed') {
        io.err(`${printable(formatError(e.error))}\n  (the preview keeps the last good build; fix the file and save again)\n`);
      }
    },
  });
  io.graceful?.('watch');
  io.out(`Preview: ${server.url}  (watching ${server.watching.join(', ')}; Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    if (!io.signal) return; // no way to be stopped: run until the process ends
    if (io.signal.aborted) return resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  io.out('Preview stopped.\n');
  return ExitCode.OK;
}

/** `new <slug> [--from <previous>]`: start the next issue from the starter or a previous issue. */
export async function runNew(slug: string, o: { from?: string; json?: boolean }, io: Io, project: Project): Promise<number> {
  const { newIssue } = await import('../authoring/new-issue.js');
  const { ensureSchemaJson } = await import('../issue/schema-file.js');
  const r = await newIssue({ root: project.root, slug, from: o.from });
  await ensureSchemaJson(path.dirname(r.file));
  if (o.json) io.out(jsonText({ ok: true, file: r.shown, assets: r.assets, from: r.from, kept: r.kept, marked: r.marked, emptied: r.emptied }));
  else {
    io.out(`Wrote ${r.shown}${r.from ? ` from ${r.from}` : ' from the starter'}\n`);
    // r.kept ends with the marked fields; the sections kept as they are come first, on one line.
    const sections = r.kept.slice(0, r.kept.length - r.marked.length);
    if (sections.length) io.out(`  kept:    ${sections.join(', ')}\n`);
    if (r.marked.length) {
      io.out(
        `  check:   ${r.marked.length} kept field${r.marked.length === 1 ? ' names' : 's name'} a person or a date, each marked "# KEPT" in the file; check it, edit it if need be, then delete the comment (the build reports it until then):\n`,
      );
      for (const m of r.marked) io.out(`    line ${m.line}: ${m.path} "${m.value}" (${m.why})\n`);
    }
    if (r.emptied.length) io.out(`  emptied: ${r.emptied.join(', ')}\n`);
    io.out(`  pictures: put them in ${r.assets}/ and write src: assets/${slug}/<file>\n`);
    if ((COMMAND_NAMES as readonly string[]).includes(slug)) io.out(`  "${slug}" is also a command: build it with "build-issue build ${slug}"\n`);
    io.out(`Next: write the new content (every TODO and "#" link), then "build-issue preview ${slug}" to see it as you go.\n`);
  }
  return ExitCode.OK;
}
