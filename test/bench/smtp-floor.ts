/**
 * The send rate's floor: the least an SMTP client can do per message, in Node, with the
 * ledger's discipline (each message's record written and, when durable, on disk before its
 * body; records of all connections flushed together). A raw socket, one prepared body, no
 * parsing beyond reply lines, no MIME, no nodemailer: what is left is the round trips and the
 * fdatasync. Pipelined: MAIL, RCPT and DATA in one write (RFC 2920; smtp-sink offers it), as
 * our sender does (nodemailer 10.6 corks the envelope and DATA into one write when the server
 * offers PIPELINING); sequential, as smtp-source does.
 * Usage: node --import tsx test/bench/smtp-floor.ts <port> <messages> <connections> <pipelined 0|1> <durable 0|1> <bytes>
 * Prints one JSON line: { pipelined, durable, rate }.
 */
import { closeSync, fdatasync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const [port, n, connections] = [Number(process.argv[2]), Number(process.argv[3] ?? 3000), Number(process.argv[4] ?? 4)];
const pipelined = process.argv[5] === '1';
const durable = process.argv[6] === '1';
const size = Number(process.argv[7] ?? 97_665);

// A body of `size` bytes in DATA form: 76-byte lines, then the end-of-data dot.
const line = `${'x'.repeat(74)}\r\n`;
const body = Buffer.from(`${line.repeat(Math.ceil(size / line.length)).slice(0, size - 5)}\r\n.\r\n`);

const dir = mkdtempSync(path.join(os.tmpdir(), 'smtp-floor-'));
const fd = openSync(path.join(dir, 'ledger.jsonl'), 'a');
let waiting: (() => void)[] = [];
let flushing = false;
/** Resolves once every record written so far is on disk: one fdatasync for all that are waiting (group commit). */
function flushed(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    schedule();
  });
}
function schedule(): void {
  if (flushing) return;
  setImmediate(() => {
    if (flushing || !waiting.length) return;
    flushing = true;
    const batch = waiting;
    waiting = [];
    const done = () => {
      flushing = false;
      for (const resolve of batch) resolve();
      if (waiting.length) schedule();
    };
    if (durable) fdatasync(fd, done);
    else done();
  });
}

let next = 0;
let sent = 0;
async function connection(): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  let text = '';
  const lines: string[] = [];
  const readers: ((line: string) => void)[] = [];
  socket.on('data', (chunk) => {
    text += chunk.toString('latin1');
    for (let i = text.indexOf('\r\n'); i >= 0; i = text.indexOf('\r\n')) {
      const reply = text.slice(0, i);
      text = text.slice(i + 2);
      if (reply[3] === '-') continue; // a multi-line reply goes on
      const reader = readers.shift();
      if (reader) reader(reply);
      else lines.push(reply);
    }
  });
  const reply = () => (lines.length ? Promise.resolve(lines.shift()!) : new Promise<string>((resolve) => readers.push(resolve)));
  const expect = async (code: string) => {
    const r = await reply();
    if (!r.startsWith(code)) throw new Error(`expected ${code}, got ${r}`);
  };
  await expect('220');
  socket.write('EHLO client.example.org\r\n');
  await expect('250');
  while (next < n) {
    const i = next++;
    writeSync(fd, `{"t":"data","email":"reader${i}@example.org"}\n`);
    const onDisk = flushed();
    if (pipelined) {
      socket.write(`MAIL FROM:<news@example.org>\r\nRCPT TO:<reader${i}@example.org>\r\nDATA\r\n`);
      await expect('250');
      await expect('250');
      await expect('354');
    } else {
      socket.write('MAIL FROM:<news@example.org>\r\n');
      await expect('250');
      socket.write(`RCPT TO:<reader${i}@example.org>\r\n`);
      await expect('250');
      socket.write('DATA\r\n');
      await expect('354');
    }
    await onDisk;
    socket.write(body);
    await expect('250');
    writeSync(fd, `{"t":"sent","email":"reader${i}@example.org"}\n`);
    sent++;
  }
  socket.end('QUIT\r\n');
}

const started = performance.now();
await Promise.all(Array.from({ length: connections }, connection));
await flushed();
const seconds = (performance.now() - started) / 1000;
closeSync(fd);
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ pipelined, durable, rate: sent / seconds }));
