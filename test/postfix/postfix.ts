/**
 * A private Postfix instance for the end-to-end test: its own config_directory,
 * queue_directory and data_directory in a temporary folder, listening on
 * 127.0.0.1:<free port> only, delivering each address it is given at example.org into
 * <dir>/mail/example.org/<local part>/ (Maildir, by the virtual delivery agent, as
 * nobody). The system's own Postfix (/etc/postfix, /var/spool/postfix) is not
 * touched, nor started.
 *
 *   const reason = postfixUnavailable();   // undefined when it can run here
 *   const mta = await startPostfix(['a@example.org']);  // mta.port, mta.maildir(email)
 *   ... send to smtp://127.0.0.1:<port> ...
 *   await mta.stop();
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const POSTFIX = '/usr/sbin/postfix';
const POSTCONF = '/usr/sbin/postconf';

/** Why Postfix cannot run here (undefined when it can): not installed, or not root (postfix start needs root). */
export function postfixUnavailable(): string | undefined {
  if (!existsSync(POSTFIX) || !existsSync(POSTCONF)) return 'Postfix is not installed (apt-get install postfix)';
  if (process.getuid?.() !== 0) return 'starting a Postfix instance needs root';
  const user = spawnSync('id', ['-u', 'postfix'], { encoding: 'utf8' });
  if (user.status !== 0) return 'there is no postfix user (a broken Postfix install?)';
  return undefined;
}

/** Debian's python3 with dkimpy (python3-dkim), or undefined. A python3 earlier on PATH (pyenv) may not see Debian's packages. */
export function pythonWithDkim(): string | undefined {
  for (const python of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(python, ['-c', 'import dkim'], { stdio: 'ignore' }).status === 0) return python;
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

export interface Postfix {
  dir: string;
  port: number;
  /** The Maildir that mail to `email` (at example.org) is delivered into. */
  maildir(email: string): string;
  /** The files delivered to options.returnPath's Maildir (the DSNs Postfix sent back). */
  returned(): Promise<string[]>;
  /** Files in every Maildir's new/ and cur/, as [recipient, file path]. */
  delivered(): Promise<[string, string][]>;
  /** Postfix's own log (maillog_file), for failure messages. */
  log(): Promise<string>;
  /** The queue listing (postqueue -p), empty when nothing is waiting. */
  queue(): Promise<string>;
  stop(): Promise<void>;
}

const NOBODY = 65534;

export interface PostfixOptions {
  /** Addresses at example.org that are accepted, then bounced by Postfix's error transport with this status (a real DSN, to the envelope sender). */
  bounce?: Record<string, string>;
  /** A mailbox outside example.org that gets mail too: the sender's, where the DSNs arrive (returned()). */
  returnPath?: string;
}

/** Configure a Postfix instance in a new temporary folder, with a Maildir for each of `mailboxes` (at example.org), and start it. */
export async function startPostfix(mailboxes: readonly string[], options: PostfixOptions = {}): Promise<Postfix> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'postfix-test-'));
  // Postfix's daemons run as the postfix user and must reach the queue under it.
  await chmod(dir, 0o755);
  const etc = path.join(dir, 'etc');
  const queue = path.join(dir, 'queue');
  const data = path.join(dir, 'data');
  const mail = path.join(dir, 'mail');
  await mkdir(etc);
  await mkdir(queue, { mode: 0o755 });
  await mkdir(data, { mode: 0o700 });
  await mkdir(mail, { mode: 0o755 });
  const postfixUid = Number(spawnSync('id', ['-u', 'postfix'], { encoding: 'utf8' }).stdout.trim());
  const postfixGid = Number(spawnSync('id', ['-g', 'postfix'], { encoding: 'utf8' }).stdout.trim());
  await chown(data, postfixUid, postfixGid);
  await chown(mail, NOBODY, NOBODY);
  const port = await freePort();

  // Each given address at example.org gets a Maildir of its own (the trailing slash means
  // Maildir); any other is refused at RCPT. virtual(8) allows no regexp substitution here,
  // so the addresses are listed (texthash: needs no postmap).
  for (const email of mailboxes) if (!/^[a-z0-9][-a-z0-9._+]*@example\.org$/.test(email)) throw new Error(`not a test mailbox at example.org: ${email}`);
  const bounce = Object.entries(options.bounce ?? {});
  for (const [email] of bounce) if (!/^[a-z0-9][-a-z0-9._+]*@example\.org$/.test(email)) throw new Error(`not a test address at example.org: ${email}`);
  const ret = options.returnPath
    ? { domain: options.returnPath.slice(options.returnPath.indexOf('@') + 1), local: options.returnPath.slice(0, options.returnPath.indexOf('@')) }
    : undefined;
  const boxes = [
    ...mailboxes.map((e) => `${e} example.org/${e.slice(0, e.indexOf('@'))}/`),
    // Accepted at RCPT (the map lists them), then routed to the error transport (transport_maps wins).
    ...bounce.map(([e]) => `${e} example.org/${e.slice(0, e.indexOf('@'))}/`),
    ...(ret ? [`${options.returnPath} ${ret.domain}/${ret.local}/`] : []),
  ];
  await writeFile(path.join(etc, 'virtual_mailboxes'), boxes.map((l) => `${l}\n`).join(''));
  await writeFile(path.join(etc, 'transport'), bounce.map(([e, status]) => `${e} error:${status}\n`).join(''));
  const main: Record<string, string> = {
    compatibility_level: '3.6',
    queue_directory: queue,
    data_directory: data,
    mail_owner: 'postfix',
    myhostname: 'mta.test.invalid',
    mydomain: 'test.invalid',
    myorigin: '$myhostname',
    mydestination: '',
    inet_interfaces: '127.0.0.1',
    inet_protocols: 'ipv4',
    mynetworks: '127.0.0.0/8',
    relay_domains: '',
    relayhost: '',
    // Nothing leaves this instance: anything not at example.org bounces at once.
    default_transport: 'error:this test Postfix delivers to example.org only',
    virtual_mailbox_domains: ret ? `example.org, ${ret.domain}` : 'example.org',
    transport_maps: `texthash:${path.join(etc, 'transport')}`,
    // Those routed to the error transport are accepted, then bounced: a DSN, as a remote server's later refusal makes.
    ...(bounce.length ? { smtpd_reject_unlisted_recipient: 'no' } : {}),
    virtual_mailbox_base: mail,
    virtual_mailbox_maps: `texthash:${path.join(etc, 'virtual_mailboxes')}`,
    virtual_uid_maps: `static:${NOBODY}`,
    virtual_gid_maps: `static:${NOBODY}`,
    virtual_minimum_uid: '100',
    smtpd_relay_restrictions: 'permit_mynetworks, reject',
    smtpd_recipient_restrictions: 'permit_mynetworks, reject',
    smtpd_peername_lookup: 'no',
    smtpd_tls_security_level: 'none',
    smtp_tls_security_level: 'none',
    message_size_limit: String(50 * 1024 * 1024),
    virtual_mailbox_limit: '0',
    maillog_file: path.join(dir, 'maillog'),
    maillog_file_prefixes: dir,
    biff: 'no',
    append_dot_mydomain: 'no',
    // No DNS: the mail never leaves, and the test must not depend on a resolver.
    disable_dns_lookups: 'yes',
    smtp_dns_support_level: 'disabled',
    alias_maps: '',
    alias_database: '',
    local_recipient_maps: '',
    queue_run_delay: '1s',
    minimal_backoff_time: '1s',
    maximal_backoff_time: '2s',
  };
  await writeFile(
    path.join(etc, 'main.cf'),
    `${Object.entries(main)
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n')}\n`,
  );
  // No chroot (column 5 "n"), so the daemons see the temporary paths as they are.
  const services = [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    'pickup    unix  n       -       n       60      1       pickup',
    'cleanup   unix  n       -       n       -       0       cleanup',
    'qmgr      unix  n       -       n       300     1       qmgr',
    'tlsmgr    unix  -       -       n       1000?   1       tlsmgr',
    'rewrite   unix  -       -       n       -       -       trivial-rewrite',
    'bounce    unix  -       -       n       -       0       bounce',
    'defer     unix  -       -       n       -       0       bounce',
    'trace     unix  -       -       n       -       0       bounce',
    'verify    unix  -       -       n       -       1       verify',
    'flush     unix  n       -       n       1000?   0       flush',
    'proxymap  unix  -       -       n       -       -       proxymap',
    'proxywrite unix -       -       n       -       1       proxymap',
    'smtp      unix  -       -       n       -       -       smtp',
    'relay     unix  -       -       n       -       -       smtp',
    'showq     unix  n       -       n       -       -       showq',
    'error     unix  -       -       n       -       -       error',
    'retry     unix  -       -       n       -       -       error',
    'discard   unix  -       -       n       -       -       discard',
    'local     unix  -       n       n       -       -       local',
    'virtual   unix  -       n       n       -       -       virtual',
    'lmtp      unix  -       -       n       -       -       lmtp',
    'anvil     unix  -       -       n       -       1       anvil',
    'scache    unix  -       -       n       -       1       scache',
    'postlog   unix-dgram n  -       n       -       1       postlogd',
  ];
  await writeFile(path.join(etc, 'master.cf'), `${services.join('\n')}\n`);

  const postconf = (...args: string[]) => run(POSTCONF, ['-c', etc, ...args]);
  const postfix = (...args: string[]) => run(POSTFIX, ['-c', etc, ...args], { timeout: 60_000 });
  // Fails on a config Postfix cannot read, before anything starts.
  await postconf('-n');
  let started = false;
  const instance: Postfix = {
    dir,
    port,
    maildir: (email) => path.join(mail, 'example.org', email.slice(0, email.indexOf('@'))),
    async returned() {
      if (!ret) return [];
      const box = path.join(mail, ret.domain, ret.local);
      const out: string[] = [];
      for (const sub of ['new', 'cur']) for (const f of await readdir(path.join(box, sub)).catch(() => [] as string[])) out.push(path.join(box, sub, f));
      return out;
    },
    async delivered() {
      const base = path.join(mail, 'example.org');
      const out: [string, string][] = [];
      for (const user of await readdir(base).catch(() => [] as string[])) {
        for (const sub of ['new', 'cur']) {
          for (const f of await readdir(path.join(base, user, sub)).catch(() => [] as string[]))
            out.push([`${user}@example.org`, path.join(base, user, sub, f)]);
        }
      }
      return out;
    },
    async log() {
      return run('cat', [path.join(dir, 'maillog')]).then(
        (r) => r.stdout,
        () => '(no maillog)',
      );
    },
    async queue() {
      return run('/usr/sbin/postqueue', ['-c', etc, '-p']).then(
        (r) => r.stdout.trim(),
        (e: Error) => `postqueue failed: ${e.message}`,
      );
    },
    async stop() {
      if (started) {
        await postfix('stop').catch(() => postfix('abort').catch(() => undefined));
        // master exits asynchronously; wait for its pid file's process to go (at most ~10 s).
        for (
          let i = 0;
          i < 100 &&
          (await postfix('status').then(
            () => true,
            () => false,
          ));
          i++
        )
          await new Promise((r) => setTimeout(r, 100));
        started = false;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    // Creates the queue's subfolders with their owners (create-missing), then starts master.
    await postfix('start');
    started = true;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    const log = await instance.log();
    await instance.stop();
    throw new Error(`postfix -c ${etc} start failed: ${e.stderr || e.message}\n${log}`);
  }
  return instance;
}
