/**
 * The personal part of a shared body (src/send/personal-body.ts): wherever quoted-printable's
 * 76-column wrapping puts the placeholder (split by a soft line break or not, near a line's
 * end or start, one line or many), a copy decodes to the shared text with the reader's token,
 * keeps every line within 76 columns, and its body hash is the hash of the whole body.
 */
import { encode as qpEncode, wrap as qpWrap } from 'nodemailer/lib/qp/index.js';
import { describe, expect, it } from 'vitest';
import { relaxedBodyHash } from '../src/send/message.js';
import { personalBody, TOKEN_MARK } from '../src/send/personal-body.js';

/** A MIME body (after the blank line) with a QP part holding `text`. */
function mime(text: string): string {
  const qp = qpWrap(qpEncode(Buffer.from(text, 'utf8')), 76).replace(/\r?\n/g, '\r\n');
  return `\r\n\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${qp}\r\n--b--\r\n`;
}

const decodeQp = (s: string) =>
  Buffer.from(
    s.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
    'latin1',
  ).toString('utf8');

const undot = (b: Buffer[]) =>
  Buffer.concat(b)
    .toString('latin1')
    .replace(/(^|\r\n)\.\./g, '$1.');

describe('a body with a personal link', () => {
  it('wherever the wrap falls, a copy decodes to the text with its token, lines stay within 76, and bh is the whole body hash', () => {
    let checked = 0;
    for (let pad = 0; pad < 90; pad += 7) {
      for (const tokenLength of [46, 71, 120]) {
        // A long line with accents and an "=" (encoded), the link in the middle, a line starting with a dot after it.
        const text = `${'é'.repeat(pad)}<a href="https://liia.london/u?t=${TOKEN_MARK}">Unsubscribe</a> a=b ${'x'.repeat(pad)}\n.dot line\nend`;
        const body = mime(text);
        const cut = personalBody(body)!;
        expect(cut, `pad ${pad}`).toBeDefined();
        const token = 'T'.repeat(tokenLength - 1) + String(pad % 10);
        const mine = cut.windowsFor(token);
        const pieces = cut.shared.flatMap((s, i) => (i < mine.data.length ? [s, mine.data[i]!] : [s]));
        const whole = undot(pieces);
        // The QP part, decoded: the text with the token, and nothing else changed.
        const part = whole.slice(whole.indexOf('quoted-printable\r\n\r\n') + 20, whole.lastIndexOf('\r\n--b--'));
        expect(decodeQp(part).replace(/\r\n/g, '\n')).toBe(text.replace(TOKEN_MARK, token));
        for (const line of whole.split('\r\n')) expect(line.length, line).toBeLessThanOrEqual(76);
        expect(cut.bodyHash(mine.canonical)).toBe(relaxedBodyHash(whole.slice(4)));
        checked++;
      }
    }
    expect(checked).toBe(39);
  });

  it('no placeholder: nothing to cut', () => {
    expect(personalBody(mime('no link here'))).toBeUndefined();
  });
});
