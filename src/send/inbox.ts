/**
 * `build-issue inbox`: read what came back (bounces, complaints, unsubscribe mails,
 * auto-replies) from the sender's mailbox over IMAP, or from an export (an mbox file or a
 * Maildir folder), sort each (returns.ts), and put the addresses that must not be sent to
 * again in the suppression file, with the reason, the date and the message they came from.
 *
 * - Remembers what it read (sends/returns.jsonl, git-ignored: personal data): reading the
 *   same mailbox again changes nothing. The record of a message is written after the
 *   suppression file, so a crash between the two only means it is read again next time.
 * - Never deletes mail; moves what it dealt with to a folder only when asked (--move-to).
 * - A soft bounce suppresses an address once it has soft-bounced on three different sends.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import path from 'node:path';
import type { Config } from '../config.js';
import { NewsletterError } from '../errors.js';
import { addressKey } from '../issue/email-address.js';
import { readList } from './list.js';
import { classifyReturn, type ClassifiedReturn, type ReturnKind } from './returns.js';
import { userinfo } from './smtp-settings.js';
import { appendReturns, readReturns } from './returns-store.js';
import { addSuppressions, type SuppressionEntry } from './suppression.js';
import { unsubscribeKeysFor } from './unsubscribe-token.js';

export const RETURN_KINDS: readonly ReturnKind[] = ['hard-bounce', 'soft-bounce', 'complaint', 'unsubscribe', 'auto-reply', 'other'];
/** Soft bounces on this many different sends suppress an address. */
export const SOFT_BOUNCE_SENDS = 3;

export interface InboxOptions {
  root: string;
  config: Config;
  env: NodeJS.ProcessEnv;
  /** An mbox file or a Maildir folder (an export); without it, the mailbox IMAP_URL names. */
  from?: string;
  /** The IMAP folder to read. @default INBOX */
  folder?: string;
  /** The circulation list: a request to be removed, without a token, counts when it comes from an address on it. @default everyone a send went to */
  listFile?: string;
  dryRun?: boolean;
  /** Move what was dealt with (all but "other") to this folder (IMAP or Maildir). */
  moveTo?: string;
}

export interface InboxReport {
  /** Where the mail was read, as it may be shown (no password). */
  source: string;
  read: number;
  /** Read on an earlier run: not counted again. */
  seenBefore: number;
  counts: Record<ReturnKind, number>;
  /** Addresses added to the suppression file now (or that would be, in a dry run). */
  suppressed: number;
  /** Addresses with soft bounces on fewer than SOFT_BOUNCE_SENDS sends: watched, not suppressed yet. */
  softWatched: number;
  moved: number;
  dryRun: boolean;
}

/** A message as read: its bytes (or only its Message-ID, when that was read before), and how to move it. */
type Item = { raw: Buffer; handle: string | number } | { seen: string; handle: string | number };

interface Source {
  shown: string;
  /** The messages; those whose Message-ID is in `known` may come without their bytes. */
  items(known: ReadonlySet<string>): AsyncIterable<Item>;
  /** Move these (by handle) to `folder`. */
  move?(handles: (string | number)[], folder: string): Promise<void>;
  close(): Promise<void>;
}

/** mbox (mboxrd and mboxo): messages start at a line "From "; ">From " lines inside are unescaped once. */
function mboxMessages(text: string): Buffer[] {
  const out: Buffer[] = [];
  for (const chunk of text.split(/^From [^\n]*\n/m).slice(1)) {
    out.push(
      Buffer.from(
        chunk
          .replace(/^>(>*From )/gm, '$1')
          .replace(/\n$/, '')
          .replace(/\r?\n/g, '\r\n'),
        'latin1',
      ),
    );
  }
  return out;
}

async function fileSource(from: string, root: string): Promise<Source> {
  const where = path.resolve(root, from);
  if (!existsSync(where))
    throw new NewsletterError('EUSAGE', `--from ${from}: no such file or folder`, { hint: 'Give an mbox file or a Maildir folder (with cur/ and new/).' });
  if (existsSync(path.join(where, 'cur')) || existsSync(path.join(where, 'new'))) {
    // Maildir: new/ and cur/ (tmp/ is mail still being written).
    const files: string[] = [];
    for (const sub of ['new', 'cur']) {
      const dir = path.join(where, sub);
      if (existsSync(dir)) for (const f of (await readdir(dir)).sort()) if (!f.startsWith('.')) files.push(path.join(dir, f));
    }
    return {
      shown: `Maildir ${from}`,
      async *items() {
        for (const f of files) yield { raw: await readFile(f), handle: f };
      },
      async move(handles, folder) {
        const target = path.join(where, `.${folder.replace(/[/\\]/g, '.')}`);
        for (const sub of ['tmp', 'new', 'cur']) mkdirSync(path.join(target, sub), { recursive: true });
        for (const h of handles) renameSync(String(h), path.join(target, 'cur', path.basename(String(h))));
      },
      close: async () => {},
    };
  }
  const messages = mboxMessages(await readFile(where, 'latin1'));
  return {
    shown: `mbox ${from}`,
    async *items() {
      for (let i = 0; i < messages.length; i++) yield { raw: messages[i]!, handle: i };
    },
    close: async () => {},
  };
}

const isLoopback = (host: string) => {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
};

/** IMAP_URL: imaps://user:password@host:993 (or imap://, which must upgrade with STARTTLS unless it is this machine). */
export function parseImapUrl(raw: string): { host: string; port: number; secure: boolean; loopback: boolean; user: string; pass: string; shown: string } {
  const bad = (why: string) =>
    new NewsletterError('ESMTP_CONFIG', `IMAP_URL is not a URL of the form imaps://user:password@host:993: ${why}`, {
      hint: 'Write it as imaps://user:password@imap.example.org:993, with @ in the user name or password as %40.',
    });
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw bad('it cannot be read as a URL');
  }
  if (url.protocol !== 'imaps:' && url.protocol !== 'imap:') throw bad('it must start imaps:// or imap://');
  if (!url.username || !url.password) throw bad('it needs a user name and a password');
  const secure = url.protocol === 'imaps:';
  const port = url.port ? Number(url.port) : secure ? 993 : 143;
  const credentials = userinfo(url);
  if (!credentials) throw bad('a % in the user name or password does not start a percent-encoding');
  const { user, pass } = credentials;
  return {
    host: url.hostname,
    port,
    secure,
    loopback: isLoopback(url.hostname),
    user,
    pass,
    shown: `${url.protocol}//${/^[\w.@+-]+$/.test(user) ? user : '***'}:***@${url.hostname}:${port}`,
  };
}

async function imapSource(rawUrl: string, folder: string): Promise<Source> {
  const s = parseImapUrl(rawUrl);
  // Required (not imported) when needed: the bundle leaves it in node_modules (scripts/bundle.mjs).
  const { ImapFlow } = createRequire(import.meta.url)('imapflow') as typeof import('imapflow');
  const client = new ImapFlow({
    host: s.host.replace(/^\[|\]$/g, ''),
    port: s.port,
    secure: s.secure,
    // Plain IMAP only to this machine; elsewhere STARTTLS must succeed.
    doSTARTTLS: s.secure ? undefined : !s.loopback,
    auth: { user: s.user, pass: s.pass },
    logger: false,
  });
  try {
    await client.connect();
  } catch (err) {
    const e = err as Error & { authenticationFailed?: boolean; responseText?: string };
    throw new NewsletterError(
      'ESEND',
      `could not read the mailbox ${s.shown}: ${e.authenticationFailed ? 'the user name or password was refused' : (e.responseText ?? e.message)}`,
      {
        hint: 'Check IMAP_URL (in .env) and that the server allows IMAP for this mailbox.',
        cause: err,
      },
    );
  }
  const lock = await client.getMailboxLock(folder);
  return {
    shown: `${s.shown} (${folder})`,
    async *items(known) {
      // The envelopes first: a message read on an earlier run is not downloaded again.
      const list: { uid: number; id?: string }[] = [];
      for await (const m of client.fetch('1:*', { uid: true, envelope: true })) list.push({ uid: m.uid, id: m.envelope?.messageId });
      for (const { uid, id } of list) {
        if (id && known.has(id)) {
          yield { seen: id, handle: uid };
          continue;
        }
        const m = await client.fetchOne(String(uid), { source: true }, { uid: true });
        if (m && m.source !== undefined) yield { raw: m.source, handle: uid };
      }
    },
    async move(handles, target) {
      if (!handles.length) return;
      await client.mailboxCreate(target).catch(() => {}); // it may exist already
      await client.messageMove(handles.join(','), target, { uid: true });
    },
    async close() {
      lock.release();
      await client.logout();
    },
  };
}

/** Every address a send to the list went to (the "sent" records of sends/<issue>/ledger.jsonl). */
function sentTo(sendsRoot: string): Set<string> {
  const out = new Set<string>();
  let slugs: string[] = [];
  try {
    slugs = readdirSync(sendsRoot);
  } catch {
    return out;
  }
  for (const slug of slugs) {
    const file = path.join(sendsRoot, slug, 'ledger.jsonl');
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.includes('"t":"sent"')) continue;
      try {
        const r = JSON.parse(line) as { t?: string; email?: string };
        if (r.t === 'sent' && r.email) out.add(addressKey(r.email));
      } catch {
        // a damaged line: the send that owns the ledger reports it
      }
    }
  }
  return out;
}

/** Read, sort and record what came back; suppress who must not be sent to again. */
export async function readInbox(o: InboxOptions): Promise<InboxReport> {
  const { config } = o;
  if (!config.suppressionFile)
    throw new NewsletterError('ECONFIG', 'suppressionFile is not set in the config: there is nowhere to record bounces and unsubscribes', {
      hint: 'Add suppressionFile: lists/unsubscribed.csv to newsletter.config.yaml (sends skip the addresses in it).',
    });
  if (!o.from && !o.env.IMAP_URL)
    throw new NewsletterError('EUSAGE', 'there is no mailbox to read: IMAP_URL is not set, and no --from was given', {
      hint: 'Put IMAP_URL=imaps://user:password@imap.example.org:993 in .env, or give an export: --from returns.mbox (or a Maildir folder).',
    });
  if (o.moveTo && o.from && !existsSync(path.join(path.resolve(o.root, o.from), 'cur')) && !existsSync(path.join(path.resolve(o.root, o.from), 'new')))
    throw new NewsletterError('EUSAGE', '--move-to works on a mailbox or a Maildir folder, not on an mbox file', {
      hint: 'Leave --move-to out for an mbox export.',
    });
  // Who is "on the list", for a request to be removed without a token: the list given, else everyone a send went to.
  const list = o.listFile ? await readList(path.resolve(o.root, o.listFile), { shownAs: o.listFile }) : undefined;
  const onList = list ? new Set(list.recipients.map((r) => addressKey(r.email))) : sentTo(path.join(o.root, 'sends'));
  const ctx = {
    unsubscribeAddress: config.unsubscribe.mailto,
    ownAddresses: [config.sender.address, ...(config.replyTo ? [config.replyTo] : []), ...(config.bounceAddress ? [config.bounceAddress] : [])],
    keys: unsubscribeKeysFor(config, o.env, 'test'),
    onList: (k: string) => onList.has(k),
  };
  const earlier = readReturns(o.root);
  const known = new Set(earlier.map((r) => r.id));
  const source = o.from ? await fileSource(o.from, o.root) : await imapSource(o.env.IMAP_URL!, o.folder ?? 'INBOX');
  const counts = Object.fromEntries(RETURN_KINDS.map((k) => [k, 0])) as Record<ReturnKind, number>;
  const fresh: { c: ClassifiedReturn; handle: string | number }[] = [];
  const toMove: (string | number)[] = [];
  let read = 0;
  let seenBefore = 0;
  try {
    for await (const item of source.items(known)) {
      read++;
      if ('seen' in item) {
        seenBefore++;
        continue;
      }
      const c = await classifyReturn(item.raw, ctx);
      if (known.has(c.id)) {
        seenBefore++;
        continue;
      }
      known.add(c.id);
      counts[c.kind]++;
      fresh.push({ c, handle: item.handle });
      if (c.kind !== 'other') toMove.push(item.handle);
    }

    // Who to suppress: hard bounces, complaints, unsubscribes; soft bounces on SOFT_BOUNCE_SENDS sends.
    const now = new Date().toISOString();
    const entries: SuppressionEntry[] = [];
    const reason: Partial<Record<ReturnKind, (c: ClassifiedReturn) => string>> = {
      'hard-bounce': (c) => `hard bounce${c.status ? ` ${c.status}` : ''}`,
      complaint: () => 'complaint',
      unsubscribe: () => 'unsubscribed',
    };
    for (const { c } of fresh)
      for (const a of c.addresses) if (reason[c.kind]) entries.push({ email: a, reason: reason[c.kind]!(c), date: now, source: `message ${c.id}` });
    const softSends = new Map<string, Set<string>>();
    for (const r of [...earlier, ...fresh.map(({ c }) => ({ ...c, at: now }))])
      if (r.kind === 'soft-bounce') for (const a of r.addresses) softSends.set(a, (softSends.get(a) ?? new Set()).add(r.issue ?? r.id));
    let softWatched = 0;
    for (const { c } of fresh)
      if (c.kind === 'soft-bounce')
        for (const a of c.addresses) {
          const sends = softSends.get(a)!.size;
          if (sends >= SOFT_BOUNCE_SENDS) entries.push({ email: a, reason: `soft bounces on ${sends} sends`, date: now, source: `message ${c.id}` });
        }
    for (const [, sends] of softSends) if (sends.size < SOFT_BOUNCE_SENDS) softWatched++;

    let suppressed = entries.length ? new Set(entries.map((e) => addressKey(e.email))).size : 0;
    let moved = 0;
    if (!o.dryRun) {
      suppressed = (await addSuppressions(path.resolve(o.root, config.suppressionFile), entries)).length;
      appendReturns(
        o.root,
        fresh.map(({ c }) => ({
          id: c.id,
          kind: c.kind,
          addresses: c.addresses,
          ...(c.issue ? { issue: c.issue } : {}),
          ...(c.status ? { status: c.status } : {}),
          at: now,
        })),
      );
      if (o.moveTo && source.move) {
        await source.move(toMove, o.moveTo);
        moved = toMove.length;
      }
    }
    return { source: source.shown, read, seenBefore, counts, suppressed, softWatched, moved, dryRun: Boolean(o.dryRun) };
  } finally {
    await source.close();
  }
}
