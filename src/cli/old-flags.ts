/**
 * The old spellings, kept for one release: `build-issue <issue> --watch` and the other mode
 * flags of the one-command CLI. They still work as they did, with their "goes with" rules,
 * and each run says once, on stderr, how to write it now.
 */
import { type BuildFlags, runBuild } from './build-commands.js';
import { usage, type Io } from './io.js';
import { runPreview } from './preview-command.js';
import type { Project } from './project.js';
import { runSend, runStatus, runTestSend, type SendFlags } from './send-commands.js';

/** The build command's options, its hidden old flags included. */
export interface OldOptions extends BuildFlags, SendFlags {
  sendTest?: boolean;
  send?: boolean;
  status?: boolean;
  watch?: boolean;
  port?: number;
}

/** The hidden flags of the build command: [flag, value name or ''] (parsers are added in program.ts). */
export const OLD_FLAGS = [
  ['--check', ''],
  ['--check-links', ''],
  ['--screenshots', ''],
  ['--send-test', ''],
  ['--to', '<addresses>'],
  ['--send', ''],
  ['--list', '<file.csv>'],
  ['--yes', ''],
  ['--dry-run', ''],
  ['--rate', '<n>'],
  ['--connections', '<n>'],
  ['--retry-failed', ''],
  ['--resend-unknown', ''],
  ['--skip-test-gate', ''],
  ['--status', ''],
  ['--watch', ''],
  ['--port', '<n>'],
] as const;

/** A word for the note, quoted as a shell needs it. */
const shellWord = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export function oldSpellingNote(old: string, now: (string | false | undefined)[]): string {
  const words = now.filter((w): w is string => typeof w === 'string').map(shellWord);
  return `Note: "${old}" is now "build-issue ${words.join(' ')}"; the old spelling goes in the next release.\n`;
}

const flagName = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export interface OldRun {
  /** The note for stderr. */
  note: string;
  /** Printed before the command (the preview runs until Ctrl-C) rather than after it. */
  noteFirst?: boolean;
  run: (project: Project) => Promise<number>;
}

/**
 * What an old command line does now, or undefined for a plain build (no old flag).
 * Throws the old usage errors ("--to goes with --send-test").
 */
export function oldRun(issue: string, o: OldOptions, io: Io): OldRun | undefined {
  const modes = [o.sendTest && '--send-test', o.send && '--send', o.status && '--status', o.watch && '--watch'].filter(Boolean);
  if (modes.length > 1) throw usage(`${modes.join(' and ')} cannot be used together`);
  if (o.to && !o.sendTest) throw usage('--to goes with --send-test');
  if (o.list && !o.send) throw usage('--list goes with --send');
  for (const flag of ['yes', 'dryRun', 'retryFailed', 'resendUnknown', 'skipTestGate'] as const) {
    if (o[flag] && !o.send) throw usage(`${flagName(flag)} goes with --send`);
  }
  if (o.port && !o.watch) throw usage('--port goes with --watch');
  const json = o.json && '--json';
  const rate = o.rate !== undefined && ['--rate', String(o.rate)];
  const connections = o.connections !== undefined && ['--connections', String(o.connections)];
  if (o.status) return { note: oldSpellingNote('--status', ['status', issue, json]), run: (p) => runStatus(issue, o, io, p) };
  if (o.watch) {
    return {
      note: oldSpellingNote('--watch', ['preview', issue, ...(o.port ? ['--port', String(o.port)] : [])]),
      noteFirst: true,
      run: (p) => runPreview(issue, o, io, p),
    };
  }
  if (o.sendTest) {
    return {
      note: oldSpellingNote('--send-test', ['test-send', issue, ...(o.to ? ['--to', o.to] : []), ...(rate || []), ...(connections || []), json]),
      run: (p) => runTestSend(issue, o, io, p),
    };
  }
  if (o.send) {
    if (!o.list) throw usage('--send needs --list <file.csv>: the circulation list to send to');
    const list = o.list;
    const flags = (['yes', 'dryRun', 'retryFailed', 'resendUnknown', 'skipTestGate'] as const).filter((k) => o[k]).map(flagName);
    return {
      note: oldSpellingNote('--send', ['send', issue, '--list', list, ...flags, ...(rate || []), ...(connections || []), json]),
      run: (p) => runSend(issue, { ...o, list }, io, p),
    };
  }
  if (!o.check && !o.checkLinks && !o.screenshots) return undefined;
  const used = [o.check && '--check', o.checkLinks && '--check-links', o.screenshots && '--screenshots'].filter((w): w is string => Boolean(w)).join(' ');
  const common = [...(o.out ? ['--out', o.out] : []), o.allowErrors && '--allow-errors', json];
  const now =
    o.check || o.checkLinks ? ['check', issue, o.checkLinks && '--links', o.screenshots && '--screenshots', ...common] : ['screenshots', issue, ...common];
  return { note: oldSpellingNote(used, now), run: (p) => runBuild(issue, o, io, p) };
}
