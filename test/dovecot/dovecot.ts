/**
 * A private Dovecot IMAP server for tests: its own config file, base_dir, state_dir,
 * log and Maildir in a temporary folder, listening on 127.0.0.1:<free port> only, plain
 * IMAP (no TLS), one user from a passwd-file. The system's own Dovecot (/etc/dovecot,
 * /run/dovecot) is not touched, nor started.
 *
 * Dovecot runs "rootless": the master and every process it starts run as one
 * unprivileged account, which owns the temporary folder and the mail. Under root (as in
 * CI) that is `nobody`, since Dovecot refuses mail users with UID 0, and the login
 * processes then need neither the dovenull nor the dovecot user; as any other user it is
 * that user. Dovecot 2.3 (Debian bookworm) and 2.4 (trixie, whose settings changed) are
 * told apart by `dovecot --version`; both were tried (2.3.19.1 and 2.4.1), as root and not.
 *
 *   const reason = dovecotUnavailable();   // undefined when it can run here
 *   const imap = await startDovecot();     // imap.url = imap://user:password@127.0.0.1:<port>
 *   await imap.deliver(rawMessage);        // into INBOX; deliver(raw, 'Processed') for a folder
 *   ... connect an IMAP client to imap.url ...
 *   await imap.stop();
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../postfix/postfix.js';

const DOVECOT = '/usr/sbin/dovecot';

/** The account Dovecot runs as: the current user, or nobody under root. */
interface Account {
  uid: number;
  gid: number;
  user: string;
  group: string;
}

function idOf(...args: string[]): string | undefined {
  const r = spawnSync('id', args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function account(): Account | string {
  const root = process.getuid?.() === 0;
  const who = root ? ['nobody'] : [];
  const uid = idOf('-u', ...who);
  const gid = idOf('-g', ...who);
  const user = idOf('-un', ...who);
  const group = idOf('-gn', ...who);
  if (uid === undefined || gid === undefined || user === undefined || group === undefined)
    return root ? 'there is no nobody user to run Dovecot as' : 'the current user has no name (Dovecot needs one for its processes)';
  if (!root && Number(uid) === 0) return 'cannot run Dovecot as root without root';
  return { uid: Number(uid), gid: Number(gid), user, group };
}

/** Why Dovecot cannot run here (undefined when it can): not installed, or no account to run it as. */
export function dovecotUnavailable(): string | undefined {
  if (!existsSync(DOVECOT)) return 'Dovecot is not installed (apt-get install dovecot-imapd)';
  if (!existsSync('/usr/lib/dovecot/imap')) return 'Dovecot has no IMAP server (apt-get install dovecot-imapd)';
  const who = account();
  return typeof who === 'string' ? who : undefined;
}

/** The installed Dovecot's version, as [major, minor] and the whole string. */
function dovecotVersion(): { major: number; minor: number; text: string } {
  const r = spawnSync(DOVECOT, ['--version'], { encoding: 'utf8' });
  const text = (r.stdout ?? '').trim();
  const m = /^(\d+)\.(\d+)/.exec(text);
  if (r.status !== 0 || !m) throw new Error(`dovecot --version failed: ${r.stderr || text || r.error?.message}`);
  return { major: Number(m[1]), minor: Number(m[2]), text };
}

/** Whether an IMAP server on the port greets with `* OK` (within a second). */
function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let got = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\n')) done(got.startsWith('* OK'));
    });
    socket.on('close', () => done(false));
  });
}

export interface Dovecot {
  host: '127.0.0.1';
  port: number;
  user: string;
  password: string;
  /** imap://user:password@127.0.0.1:port, the user and password percent-encoded. */
  url: string;
  /** The user's Maildir (Maildir++: INBOX at the top, a folder "Name" in .Name/). */
  maildir: string;
  /**
   * Put a message into a folder (INBOX, or a Maildir++ folder such as "Processed", made
   * if need be) as an MTA would: written in tmp/, then renamed into new/. Returns that
   * path; Dovecot moves the file to cur/ (renaming it) once a client has seen it.
   */
  deliver(raw: Buffer | string, folder?: string): Promise<string>;
  /** The folders in the Maildir: INBOX, then the others by name. */
  folders(): Promise<string[]>;
  /** Dovecot's log, for failure messages. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

/** dovecot.conf for this instance, in 2.3's syntax or 2.4's (mail location, cleartext auth and passwd-file databases differ). */
function configFor(version: { major: number; minor: number }, dir: string, port: number, who: Account): string {
  const v24 = version.major > 2 || (version.major === 2 && version.minor >= 4);
  const users = path.join(dir, 'users');
  const maildir = path.join(dir, 'Maildir');
  const lines = [
    // 2.4: must come first; 2.4.0 is the oldest syntax and defaults every 2.4.x accepts.
    ...(v24 ? ['dovecot_config_version = 2.4.0', 'dovecot_storage_version = 2.4.0'] : []),
    `base_dir = ${path.join(dir, 'run')}`,
    `state_dir = ${path.join(dir, 'state')}`,
    'instance_name = dovecot-test',
    `log_path = ${path.join(dir, 'dovecot.log')}`,
    'listen = 127.0.0.1',
    'protocols = imap',
    'ssl = no',
    v24 ? 'auth_allow_cleartext = yes' : 'disable_plaintext_auth = no',
    'auth_mechanisms = plain login',
    // A wrong password is refused at once (the default waits 2 s).
    'auth_failure_delay = 0',
    // Rootless: every process runs as the one account, which has no other rights.
    `default_internal_user = ${who.user}`,
    `default_internal_group = ${who.group}`,
    `default_login_user = ${who.user}`,
    `first_valid_uid = ${who.uid}`,
    `last_valid_uid = ${who.uid}`,
    `first_valid_gid = ${who.gid}`,
    ...(v24 ? ['mail_driver = maildir', `mail_path = ${maildir}`, 'mailbox_list_layout = Maildir++'] : [`mail_location = maildir:${maildir}:LAYOUT=maildir++`]),
    ...(v24
      ? ['passdb passwd-file {', `  passwd_file_path = ${users}`, '}', 'userdb passwd-file {', `  passwd_file_path = ${users}`, '}']
      : ['passdb {', '  driver = passwd-file', `  args = ${users}`, '}', 'userdb {', '  driver = passwd-file', `  args = ${users}`, '}']),
    // No chroot (it needs root), and plain IMAP on the free port only.
    'service imap-login {',
    '  chroot =',
    '  inet_listener imap {',
    `    port = ${port}`,
    '  }',
    '  inet_listener imaps {',
    '    port = 0',
    '  }',
    '}',
    // No auth penalty either: after a failed login, anvil would delay every next login
    // from 127.0.0.1 by 2 s and more.
    'service anvil {',
    '  chroot =',
    '  unix_listener anvil-auth-penalty {',
    '    mode = 0',
    '  }',
    '}',
  ];
  return `${lines.join('\n')}\n`;
}

let delivered = 0;

/** Configure a Dovecot in a new temporary folder, with one user and an empty Maildir, and start it. */
export async function startDovecot(options: { user?: string; password?: string } = {}): Promise<Dovecot> {
  const user = options.user ?? 'tester';
  const password = options.password ?? randomBytes(12).toString('base64url');
  // The passwd-file is colon-separated, and Dovecot allows these characters in user names.
  if (!/^[A-Za-z0-9._@-]+$/.test(user)) throw new Error(`not a user name this test Dovecot accepts: ${user}`);
  if (/[:\r\n\0]/.test(password) || password === '') throw new Error('the password must be non-empty, without ":" or line breaks');
  const who = account();
  if (typeof who === 'string') throw new Error(who);
  const version = dovecotVersion();
  const root = process.getuid?.() === 0;

  const dir = await mkdtemp(path.join(os.tmpdir(), 'dovecot-test-'));
  await chmod(dir, 0o755);
  const maildir = path.join(dir, 'Maildir');
  const config = path.join(dir, 'dovecot.conf');
  const logFile = path.join(dir, 'dovecot.log');
  /** Under root, hand what was made to the account Dovecot runs as. */
  const own = async (p: string) => {
    if (root) await chown(p, who.uid, who.gid);
  };
  for (const sub of ['', 'tmp', 'new', 'cur']) {
    await mkdir(path.join(maildir, sub), { recursive: true, mode: 0o700 });
    await own(path.join(maildir, sub));
  }
  await writeFile(path.join(dir, 'users'), `${user}:{PLAIN}${password}:${who.uid}:${who.gid}::${dir}::\n`, { mode: 0o600 });
  const port = await freePort();
  await writeFile(config, configFor(version, dir, port, who), { mode: 0o644 });
  for (const f of ['', 'users', 'dovecot.conf']) await own(path.join(dir, f));

  let output = '';
  const child: ChildProcess = spawn(DOVECOT, ['-F', '-c', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(root ? { uid: who.uid, gid: who.gid } : {}),
  });
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = signal ? `killed by ${signal}` : `exit code ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      exited = err.message;
      resolve();
    });
  });
  // A test run that dies without stop() leaves no Dovecot behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const log = async () => {
    const file = await readFile(logFile, 'utf8').catch(() => '');
    return [file, output].filter(Boolean).join('\n') || '(no log)';
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    if (exited === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  // Ready when it greets on the port: poll, and give up at once if it exits.
  const until = Date.now() + 20_000;
  for (;;) {
    if (exited === undefined && (await greets(port))) break;
    if (exited !== undefined || Date.now() > until) {
      const why = exited === undefined ? 'did not greet on its port in 20 s' : `exited (${exited})`;
      const tail = (await log()).trimEnd().split('\n').slice(-30).join('\n');
      await stop();
      throw new Error(`Dovecot ${version.text} (dovecot -F -c ${config}) ${why}:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  /** The Maildir++ folder for a name: INBOX is the Maildir itself, "A" is .A, "A/B" is .A.B. */
  const folderDir = (folder: string) => {
    if (folder.toUpperCase() === 'INBOX') return maildir;
    const name = folder.replace(/^\./, '').replaceAll('/', '.');
    if (!name || name.includes('..') || /[\0\n\r]/.test(name) || name.startsWith('.') || name.endsWith('.')) throw new Error(`not a folder name: ${folder}`);
    return path.join(maildir, `.${name}`);
  };

  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    url: `imap://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    maildir,
    async deliver(raw, folder = 'INBOX') {
      const box = folderDir(folder);
      if (box !== maildir && !existsSync(box)) {
        for (const sub of ['', 'tmp', 'new', 'cur']) {
          await mkdir(path.join(box, sub), { recursive: true, mode: 0o700 });
          await own(path.join(box, sub));
        }
        // Maildir++ marks a folder with an empty file of this name.
        await writeFile(path.join(box, 'maildirfolder'), '');
        await own(path.join(box, 'maildirfolder'));
      }
      const now = Date.now();
      const name = `${Math.floor(now / 1000)}.M${(now % 1000) * 1000}P${process.pid}Q${++delivered}R${randomBytes(4).toString('hex')}.${os.hostname().replace(/[/:]/g, '_')}`;
      const tmp = path.join(box, 'tmp', name);
      const target = path.join(box, 'new', name);
      await writeFile(tmp, raw, { mode: 0o600 });
      await own(tmp);
      await rename(tmp, target);
      return target;
    },
    async folders() {
      const names: string[] = [];
      for (const entry of await readdir(maildir)) {
        if (!entry.startsWith('.') || entry === '.' || entry === '..') continue;
        if ((await stat(path.join(maildir, entry)).catch(() => undefined))?.isDirectory()) names.push(entry.slice(1));
      }
      return ['INBOX', ...names.sort()];
    },
    log,
    stop,
  };
}
