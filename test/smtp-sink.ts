/**
 * A real, fault-injecting SMTP server for tests (smtp-server on 127.0.0.1, plain
 * text, no STARTTLS). Records every accepted, dropped and rejected message so a
 * test can assert on the envelope, the raw bytes and (lazily) the parsed message.
 *
 *   const sink = await startSink({ rcpt: { 'a@example.org': { code: 450, times: 2 } } });
 *   ... send to 127.0.0.1:sink.port ...
 *   await sink.waitForMessages(3);
 *   const mail = await sink.parse(0);
 *   await sink.close();
 *
 * Fault semantics (all counters are server-wide and reset by setFaults()):
 * - rcpt[addr]: RCPT TO for that address gets `code` the first `times` times.
 * - data[addr]: after the body, a message with that envelope recipient gets `code`
 *   the first `times` times (one reply for the whole message; one `rejected` entry
 *   per envelope recipient).
 * - dropAfterEvery: N — every Nth message that reached the reply stage (i.e. was not
 *   rejected by a data fault) has its socket destroyed instead of the final reply.
 * - dataDelayMs: wait this long before deciding/replying to the final ".". If the
 *   client is gone when the reply would be sent, the message goes to `dropped`
 *   (dropReason 'client-gone'), not to `messages`.
 * - maxMessagesPerConnection: N — once N messages were accepted on a connection, the
 *   next MAIL FROM on it gets "421" and the server closes the connection.
 * - auth: AUTH PLAIN/LOGIN required with these credentials, others get 535.
 * - oauth2: { user, isValid(token, user), scope? } — AUTH required and XOAUTH2 is
 *   advertised too ("AUTH PLAIN LOGIN XOAUTH2"). An XOAUTH2 login is accepted (235) when
 *   the token's user= equals `user` case-insensitively AND isValid(token, user) is true.
 *   Otherwise (bad/expired token, or a good token for another mailbox) the refusal is
 *   the Google/Microsoft SASL style: "334 <base64 of {"status":"401","schemes":"bearer",
 *   "scope":<scope>}>", the client answers with an empty line, then smtp-server's fixed
 *   "535 Error: Username and Password not accepted". nodemailer's SMTPConnection reacts
 *   to that 535 by calling oauth2.getToken(true, ...) and trying AUTH XOAUTH2 once more,
 *   so one refused login is TWO `auths` entries and two getToken calls (false, true).
 *   With only oauth2 set, AUTH PLAIN/LOGIN gets 535; with `auth` too, both work.
 * - auths: every AUTH attempt that reached the credential check is logged as
 *   { session, method, user, ok, at } — never the password or token.
 * - quota: { after, code, message, stage? } — once `after` messages were accepted
 *   server-wide (since start / the last setFaults()), every further attempt is refused
 *   with "<code> <message>" (message verbatim, so include the enhanced status code, e.g.
 *   554 "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException" for
 *   Microsoft 365, 550 "5.4.5 Daily user sending limit exceeded." for Google) at:
 *   'data' (default) after the body, one `rejected` entry per envelope recipient;
 *   'mail' at MAIL FROM, one entry with to ''; 'rcpt' at every RCPT TO. A quota refusal
 *   does not consume rcpt/data fault `times`.
 *
 * Order in onMailFrom: maxMessagesPerConnection -> quota('mail'). In onRcptTo:
 * quota('rcpt') -> rcpt fault.
 * Order in onData: read the whole body -> dataDelayMs -> client gone? -> quota('data') ->
 * data fault -> size check -> dropAfterEvery -> accept (record, append to logFile
 * synchronously, then reply 250).
 */
import { appendFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import {
  SMTPServer,
  type SMTPServerAddress,
  type SMTPServerAuthentication,
  type SMTPServerAuthenticationResponse,
  type SMTPServerDataStream,
  type SMTPServerError,
  type SMTPServerSession,
} from 'smtp-server';

export type { ParsedMail };

export interface SinkMessage {
  /** Envelope sender (MAIL FROM), '' for the null sender. */
  from: string;
  /** Envelope recipients that were accepted at RCPT TO, as sent by the client. */
  to: string[];
  /** The message exactly as received (dot-unstuffed, without the final "."). */
  raw: Buffer;
  /** Filled in by sink.parse(i) / sink.parseAll() (mailparser simpleParser). */
  parsed?: ParsedMail;
  /** 1-based number of the TCP connection the message came in on. */
  session: number;
  /** Epoch ms when the message was accepted (or dropped). */
  at: number;
  /** Only on `dropped` entries: why no reply was sent. */
  dropReason?: 'fault' | 'client-gone';
}

export interface SinkFaultSpec {
  code: number;
  message?: string;
  /** How many times the fault fires; default Infinity. */
  times?: number;
}

export interface SinkFaults {
  /** Per recipient address (lower-case): reply this code to RCPT TO the first `times` times (e.g. 450 greylisting, then accept). */
  rcpt?: Record<string, SinkFaultSpec>;
  /** After the message body: reply this code for these recipients' messages the first `times` times (e.g. 451 after DATA, 552). */
  data?: Record<string, SinkFaultSpec>;
  /** After every Nth message across the server, destroy the socket BEFORE replying to the final "." (recorded in `dropped`). */
  dropAfterEvery?: number;
  /** Delay before replying to the final "." (ms) — lets a test kill the client mid-send. */
  dataDelayMs?: number;
  /** After N accepted messages on one connection, the next MAIL FROM gets 421 and the connection is closed. */
  maxMessagesPerConnection?: number;
  /** Require AUTH PLAIN/LOGIN with this user/pass (and reject others with 535). */
  auth?: { user: string; pass: string };
  /** Require AUTH, offer XOAUTH2 and accept it for `user` (case-insensitive) when isValid(token, user); see the header comment for the refusal. */
  oauth2?: SinkOAuth2;
  /** Sending quota: after `after` accepted messages (server-wide, since start/setFaults) refuse every attempt with `code message` at `stage`. */
  quota?: SinkQuota;
}

export interface SinkOAuth2 {
  /** The mailbox the tokens are for (compared case-insensitively with the XOAUTH2 user=). */
  user: string;
  /** Decides whether an access token is good; called only when the user matches. */
  isValid(token: string, user: string): boolean;
  /** `scope` in the 334 refusal JSON (default https://outlook.office365.com/.default). */
  scope?: string;
  /** 'immediate': refuse at once with "535 5.7.3 Authentication unsuccessful", as Exchange Online does, instead of the 334 challenge. */
  refuse?: 'challenge' | 'immediate';
}

export interface SinkQuota {
  /** Accepted messages allowed before the quota bites (0: refuse from the start). */
  after: number;
  code: number;
  /** Reply text after the code, verbatim (include the enhanced status code). */
  message: string;
  /** Where the refusal happens; default 'data' (after the body). */
  stage?: 'rcpt' | 'data' | 'mail';
}

export interface SinkRejection {
  /** The recipient; '' for a 'mail' stage refusal (no recipient known yet). */
  to: string;
  code: number;
  stage: 'mail' | 'rcpt' | 'data';
}

export interface SinkAuthAttempt {
  /** 1-based number of the TCP connection. */
  session: number;
  /** 'PLAIN', 'LOGIN' or 'XOAUTH2'. */
  method: string;
  /** The user name the client presented ('' if none). */
  user: string;
  ok: boolean;
  /** Epoch ms. */
  at: number;
}

export interface SmtpSink {
  port: number;
  /** smtp://127.0.0.1:port — with user:pass@ when auth is set, else with user@ (no password) when oauth2 is set. */
  readonly url: string;
  /** Accepted (250 after DATA), in order. */
  messages: SinkMessage[];
  /** Body received but the connection was destroyed (or had gone) before the reply. */
  dropped: SinkMessage[];
  rejected: SinkRejection[];
  /** Every AUTH attempt (PLAIN/LOGIN/XOAUTH2) that reached the credential check, in order. Never holds secrets. */
  auths: SinkAuthAttempt[];
  /** TCP connections accepted so far. */
  connections: number;
  /** Highest number of simultaneously open TCP connections seen. */
  maxConcurrentConnections: number;
  /** How many accepted messages had this envelope recipient (case-insensitive). */
  deliveredTo(address: string): number;
  /** Replace all faults and reset their `times` counters, the drop counter and the quota count. */
  setFaults(f: SinkFaults): void;
  /** Resolve once messages.length >= n; reject after timeoutMs (default 10 s). */
  waitForMessages(n: number, timeoutMs?: number): Promise<void>;
  /** Parse messages[i] (cached in messages[i].parsed). */
  parse(i: number): Promise<ParsedMail>;
  /** Parse every accepted message not parsed yet. */
  parseAll(): Promise<ParsedMail[]>;
  close(): Promise<void>;
  /** Accepted messages are also appended here as "<epoch ms> <rcpt>[,<rcpt>...]\n". */
  logFile?: string;
}

export interface StartSinkOptions extends SinkFaults {
  logFile?: string;
  secure?: false;
  /** Advertised SIZE limit in bytes; bigger messages get 552 (default 50 MiB). */
  size?: number;
}

interface ConnInfo {
  seq: number;
  socket: Socket;
  accepted: number;
}

const DEFAULT_SIZE = 50 * 1024 * 1024;
const DEFAULT_OAUTH2_SCOPE = 'https://outlook.office365.com/.default';

const authRequired = (f: SinkFaults): boolean => !!(f.auth || f.oauth2);
const authMethodsFor = (f: SinkFaults): string[] => (f.oauth2 ? ['PLAIN', 'LOGIN', 'XOAUTH2'] : ['PLAIN', 'LOGIN']);
const disabledFor = (f: SinkFaults): string[] => (authRequired(f) ? ['STARTTLS'] : ['STARTTLS', 'AUTH']);

function smtpError(code: number, message: string): SMTPServerError {
  const err: SMTPServerError = new Error(message);
  err.responseCode = code;
  return err;
}

function defaultText(code: number): string {
  if (code === 421) return 'Service not available, closing transmission channel';
  if (code === 450) return 'Mailbox unavailable, try again later';
  if (code === 451) return 'Local error in processing, try again later';
  if (code === 452) return 'Insufficient system storage';
  if (code === 552) return 'Message exceeds storage allocation';
  if (code === 550) return 'Mailbox unavailable';
  if (code >= 500) return 'Permanent failure';
  return 'Temporary failure';
}

export async function startSink(options: StartSinkOptions = {}): Promise<SmtpSink> {
  const { logFile, size = DEFAULT_SIZE, secure: _secure, ...initialFaults } = options;

  let faults: SinkFaults = { ...initialFaults };
  let rcptHits = new Map<string, number>();
  let dataHits = new Map<string, number>();
  let dropCounter = 0;
  /** Messages accepted since start / the last setFaults() (for quota). */
  let acceptedForQuota = 0;

  const messages: SinkMessage[] = [];
  const dropped: SinkMessage[] = [];
  const rejected: SinkRejection[] = [];
  const auths: SinkAuthAttempt[] = [];
  const waiters = new Set<() => void>();
  const timers = new Set<NodeJS.Timeout>();

  // TCP-level bookkeeping, keyed by the client's port (unique on loopback while open).
  const byPort = new Map<number, ConnInfo>();
  let connectionCount = 0;
  let current = 0;
  let maxConcurrent = 0;
  let closed = false;

  const conn = (session: SMTPServerSession): ConnInfo | undefined => byPort.get(session.remotePort);

  /** Consume one use of a fault for `key`; returns the spec if it fires. */
  const take = (table: Record<string, SinkFaultSpec> | undefined, hits: Map<string, number>, key: string): SinkFaultSpec | undefined => {
    const spec = table?.[key];
    if (!spec) return undefined;
    const used = hits.get(key) ?? 0;
    if (used >= (spec.times ?? Infinity)) return undefined;
    hits.set(key, used + 1);
    return spec;
  };

  const notify = (): void => {
    for (const w of [...waiters]) w();
  };

  /** The quota if it is exhausted and refuses at `stage`. */
  const quotaAt = (stage: 'mail' | 'rcpt' | 'data'): SinkQuota | undefined => {
    const q = faults.quota;
    if (!q || (q.stage ?? 'data') !== stage || acceptedForQuota < q.after) return undefined;
    return q;
  };

  const server = new SMTPServer({
    secure: false,
    name: 'sink.example.org',
    authOptional: !authRequired(faults),
    allowInsecureAuth: true,
    authMethods: authMethodsFor(faults),
    disabledCommands: disabledFor(faults),
    disableReverseLookup: true,
    size,
    logger: false,
    closeTimeout: 1000,

    onConnect(session, callback) {
      // auth/oauth2 may have been switched on/off by setFaults() after start
      session.disabledCommands = disabledFor(faults);
      callback();
    },

    onAuth(auth: SMTPServerAuthentication, session, callback: (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void) {
      const user = auth.username ?? '';
      const log = (ok: boolean): void => {
        auths.push({ session: conn(session)?.seq ?? 0, method: auth.method, user, ok, at: Date.now() });
      };
      if (auth.method === 'XOAUTH2') {
        const o = faults.oauth2;
        if (o && user.toLowerCase() === o.user.toLowerCase() && o.isValid(auth.accessToken ?? '', user)) {
          log(true);
          return callback(null, { user });
        }
        log(false);
        if (o?.refuse === 'immediate') return callback(smtpError(535, '5.7.3 Authentication unsuccessful [LO4P123CA0001.GBRP123.PROD.OUTLOOK.COM]'));
        // No `user` + `data`: smtp-server replies 334 <base64 JSON>, waits for the client's
        // (empty) line and then sends its fixed "535 Error: Username and Password not accepted".
        return callback(null, { data: { status: '401', schemes: 'bearer', scope: o?.scope ?? DEFAULT_OAUTH2_SCOPE } });
      }
      const want = faults.auth;
      if (want && (auth.method === 'PLAIN' || auth.method === 'LOGIN') && auth.username === want.user && auth.password === want.pass) {
        log(true);
        return callback(null, { user: auth.username });
      }
      log(false);
      callback(smtpError(535, 'Authentication credentials invalid'));
    },

    onMailFrom(_address: SMTPServerAddress, session, callback) {
      const limit = faults.maxMessagesPerConnection;
      const info = conn(session);
      if (limit !== undefined && info && info.accepted >= limit) {
        // smtp-server closes the connection after sending any 421
        return callback(smtpError(421, `Too many messages on this connection (limit ${limit})`));
      }
      const quota = quotaAt('mail');
      if (quota) {
        rejected.push({ to: '', code: quota.code, stage: 'mail' });
        notify();
        return callback(smtpError(quota.code, quota.message));
      }
      callback();
    },

    onRcptTo(address: SMTPServerAddress, _session, callback) {
      const quota = quotaAt('rcpt');
      if (quota) {
        rejected.push({ to: address.address, code: quota.code, stage: 'rcpt' });
        notify();
        return callback(smtpError(quota.code, quota.message));
      }
      const key = address.address.toLowerCase();
      const spec = take(faults.rcpt, rcptHits, key);
      if (spec) {
        rejected.push({ to: address.address, code: spec.code, stage: 'rcpt' });
        return callback(smtpError(spec.code, spec.message ?? defaultText(spec.code)));
      }
      callback();
    },

    onData(stream: SMTPServerDataStream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', () => {
        /* client went away mid-body: smtp-server destroys the stream, nothing to record */
      });
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const sizeExceeded = stream.sizeExceeded;
        // snapshot the envelope now: smtp-server resets the session after the reply
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        const to = session.envelope.rcptTo.map((r) => r.address);
        const info = conn(session);
        const record = (): SinkMessage => ({ from, to, raw, session: info?.seq ?? 0, at: Date.now() });

        const decide = (): void => {
          const socket = info?.socket;
          if (!socket || socket.destroyed || !socket.writable) {
            // the client is gone: nobody will ever see a reply
            dropped.push({ ...record(), dropReason: 'client-gone' });
            notify();
            callback(smtpError(421, 'client gone'));
            return;
          }
          const quota = quotaAt('data');
          if (quota) {
            for (const rcpt of to) rejected.push({ to: rcpt, code: quota.code, stage: 'data' });
            notify();
            callback(smtpError(quota.code, quota.message));
            return;
          }
          let fault: SinkFaultSpec | undefined;
          for (const rcpt of to) {
            fault = take(faults.data, dataHits, rcpt.toLowerCase()) ?? fault;
          }
          if (fault) {
            for (const rcpt of to) rejected.push({ to: rcpt, code: fault.code, stage: 'data' });
            notify();
            callback(smtpError(fault.code, fault.message ?? defaultText(fault.code)));
            return;
          }
          if (sizeExceeded) {
            for (const rcpt of to) rejected.push({ to: rcpt, code: 552, stage: 'data' });
            notify();
            callback(smtpError(552, `Message exceeds fixed maximum message size ${size}`));
            return;
          }
          const every = faults.dropAfterEvery;
          if (every !== undefined && every > 0 && ++dropCounter % every === 0) {
            // Destroy the TCP socket before any reply to the final "." is written.
            // smtp-server's send() never writes to a destroyed socket, so calling the
            // callback afterwards only lets it clean up its transaction state.
            socket.destroy();
            dropped.push({ ...record(), dropReason: 'fault' });
            notify();
            callback(smtpError(421, 'dropped'));
            return;
          }
          const msg = record();
          if (logFile) appendFileSync(logFile, `${msg.at} ${to.join(',')}\n`);
          messages.push(msg);
          acceptedForQuota++;
          if (info) info.accepted++;
          notify();
          callback(null, `OK: queued as sink-${messages.length}`);
        };

        const delay = faults.dataDelayMs ?? 0;
        if (delay > 0) {
          const t = setTimeout(() => {
            timers.delete(t);
            decide();
          }, delay);
          timers.add(t);
        } else {
          decide();
        }
      });
    },
  });

  // Errors from client sockets (ECONNRESET when a client is killed mid-transaction)
  // are re-emitted by SMTPServer; without a listener they would crash the test run.
  server.on('error', () => {});

  server.server.on('connection', (socket: Socket) => {
    connectionCount++;
    current++;
    if (current > maxConcurrent) maxConcurrent = current;
    const port = socket.remotePort;
    if (port !== undefined) byPort.set(port, { seq: connectionCount, socket, accepted: 0 });
    socket.once('close', () => {
      current--;
      if (port !== undefined && byPort.get(port)?.socket === socket) byPort.delete(port);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;

  const sink: SmtpSink = {
    port,
    get url(): string {
      const a = faults.auth;
      const o = faults.oauth2;
      const cred = a ? `${encodeURIComponent(a.user)}:${encodeURIComponent(a.pass)}@` : o ? `${encodeURIComponent(o.user)}@` : '';
      return `smtp://${cred}127.0.0.1:${port}`;
    },
    messages,
    dropped,
    rejected,
    auths,
    get connections() {
      return connectionCount;
    },
    get maxConcurrentConnections() {
      return maxConcurrent;
    },
    deliveredTo(address: string): number {
      const key = address.toLowerCase();
      return messages.filter((m) => m.to.some((t) => t.toLowerCase() === key)).length;
    },
    setFaults(f: SinkFaults): void {
      faults = { ...f };
      rcptHits = new Map();
      dataHits = new Map();
      dropCounter = 0;
      acceptedForQuota = 0;
      server.options.authOptional = !authRequired(faults);
      server.options.authMethods = authMethodsFor(faults);
    },
    waitForMessages(n: number, timeoutMs = 10_000): Promise<void> {
      if (messages.length >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (messages.length >= n) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `smtp-sink: timed out after ${timeoutMs} ms waiting for ${n} message(s); ` +
                `accepted ${messages.length}, dropped ${dropped.length}, rejected ${rejected.length}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
      });
    },
    async parse(i: number): Promise<ParsedMail> {
      const m = messages[i];
      if (!m) throw new Error(`smtp-sink: no accepted message #${i} (have ${messages.length})`);
      m.parsed ??= await simpleParser(m.raw);
      return m.parsed;
    },
    async parseAll(): Promise<ParsedMail[]> {
      const out: ParsedMail[] = [];
      for (let i = 0; i < messages.length; i++) out.push(await sink.parse(i));
      return out;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // don't wait for pooled/idle clients to say QUIT
        for (const { socket } of byPort.values()) socket.destroy();
      });
    },
  };
  if (logFile) sink.logFile = logFile;
  return sink;
}
