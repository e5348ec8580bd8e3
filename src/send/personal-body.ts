/**
 * A message body shared by every copy but for a few bytes: the footer's unsubscribe link,
 * which carries each reader's own token. The body is composed once with a placeholder where
 * the token goes; here it is cut, once, into shared pieces and the few quoted-printable lines
 * that hold the placeholder ("windows"). A copy is then the shared pieces (the same Buffers for
 * everyone) and its own windows, re-encoded with its token: a few hundred bytes of work a copy,
 * not the 100 KB body.
 *
 * The cuts fall at line ends, so SMTP's dot-stuffing and DKIM's relaxed body canonicalization
 * (both line by line) are done once for the shared pieces; a copy's body hash (bh=) hashes the
 * canonical pieces with its own windows in between.
 */
import { createHash } from 'node:crypto';
import { encode as qpEncode, wrap as qpWrap } from 'nodemailer/lib/qp/index.js';

/** The placeholder: letters and digits only, so quoted-printable leaves it as it is (bar soft line breaks). */
export const TOKEN_MARK = 'Zq8TokenPlaceholderForTheReaderZq8';

interface Window {
  /** The window's decoded bytes (latin1), the placeholder in them. */
  decoded: string;
  /** Whether the window ended with a soft line break (its logical line goes on after it). */
  softEnd: boolean;
}

export interface PersonalBody {
  /** Shared pieces, in DATA form (dot-stuffed); there is one more of them than of windows. */
  shared: Buffer[];
  /** The pieces' relaxed canonical forms, for DKIM (the first without the blank line that starts the body). */
  canonical: string[];
  windows: Window[];
  /** A copy's windows with `token` in place of the placeholder: encoded, in DATA form, and canonical for DKIM. */
  windowsFor(token: string): { data: Buffer[]; canonical: string[] };
  /** The body hash of a copy whose windows' canonical forms are `windows`. */
  bodyHash(windows: string[]): string;
}

const DOT = (s: string) => s.replace(/(^|\r\n)\./g, '$1..');
/** Relaxed body canonicalization (RFC 6376 3.4.4) of whole lines: trailing SP/HTAB dropped, runs of them one SP. */
const relaxedLines = (s: string) => s.replace(/[ \t]+(?=\r\n|$)/g, '').replace(/[ \t]+/g, ' ');

function qpDecode(line: string): string {
  return line.replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

/**
 * Cut `body` (the composed body, latin1, every line end CRLF, starting with the blank line after the headers)
 * at the placeholder. Undefined when the placeholder is not in it.
 */
export function personalBody(body: string): PersonalBody | undefined {
  const mark = new RegExp(TOKEN_MARK.split('').join('(?:=\\r\\n)?'), 'g');
  const cuts: { start: number; end: number }[] = [];
  for (const m of body.matchAll(mark)) {
    const start = body.lastIndexOf('\r\n', m.index) + 2;
    const next = body.indexOf('\r\n', m.index + m[0].length);
    const end = next < 0 ? body.length : next;
    // Two placeholders on one line make one window.
    if (cuts.length && start <= cuts[cuts.length - 1]!.end) cuts[cuts.length - 1]!.end = end;
    else cuts.push({ start, end });
  }
  if (!cuts.length) return undefined;
  const sharedText: string[] = [];
  const windows: Window[] = [];
  let at = 0;
  for (const c of cuts) {
    sharedText.push(body.slice(at, c.start));
    const encoded = body.slice(c.start, c.end);
    const softEnd = encoded.endsWith('=');
    windows.push({ decoded: qpDecode(encoded.replace(/=\r\n/g, '').replace(/=$/, '')), softEnd });
    at = c.end;
  }
  sharedText.push(body.slice(at));
  const last = sharedText.length - 1;
  const canonical = sharedText.map((t, i) => {
    let c = relaxedLines(i === 0 ? t.slice(4) : t);
    // The body's end: empty lines dropped, one CRLF (the last piece is never a window: the closing boundary follows).
    if (i === last) c = `${c.replace(/(\r\n)+$/, '')}\r\n`;
    return c;
  });
  const prefix = createHash('sha256').update(canonical[0]!, 'latin1');
  return {
    shared: sharedText.map((t) => Buffer.from(DOT(t), 'latin1')),
    canonical,
    windows,
    windowsFor(token) {
      const data: Buffer[] = [];
      const canon: string[] = [];
      for (const w of windows) {
        const text = w.decoded.split(TOKEN_MARK).join(token);
        // Wrapped a column short when a soft break follows, which takes the 76th.
        let encoded = qpWrap(qpEncode(Buffer.from(text, 'latin1')), w.softEnd ? 75 : 76).replace(/\r?\n/g, '\r\n');
        if (w.softEnd) encoded += '=';
        data.push(Buffer.from(DOT(encoded), 'latin1'));
        canon.push(relaxedLines(encoded));
      }
      return { data, canonical: canon };
    },
    bodyHash(own) {
      // Everything before the first window is hashed once: each copy goes on from a copy of that state.
      const h = prefix.copy();
      for (let i = 0; i < own.length; i++) h.update(own[i]!, 'latin1').update(canonical[i + 1]!, 'latin1');
      return h.digest('base64');
    },
  };
}
