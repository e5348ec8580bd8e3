/**
 * The one email-address rule: for the circulation list and suppression file (src/send/list.ts),
 * the config's addresses (src/config.ts), test-send `--to` addresses, and calendar invites'
 * organiser (src/authoring/calendar.ts). Bottom layer: Node built-ins only.
 *
 * What is accepted (a practical subset of RFC 5321/5322, the addresses real mailboxes have):
 *
 * - One `@`, nothing around the address (no `<>`, no `mailto:`, no name, no comma, no spaces,
 *   no control or invisible characters).
 * - Local part (before the @): a dot-atom of ASCII atext (letters, digits and
 *   ``! # $ % & ' * + / = ? ^ _ ` { | } ~ -``), dots only between characters, at most 64 octets.
 *   Quoted local parts ("john doe"@...) are refused: nobody hands those out.
 * - UTF-8 local parts (RFC 6531 SMTPUTF8, `jörg@example.de`) are REFUSED, with a reason that says
 *   so. Our sender (nodemailer's SMTPConnection, src/send/sender.ts) adds SMTPUTF8 to MAIL FROM only
 *   when the relay announces it, and otherwise sends the raw UTF-8 address anyway; a relay without
 *   SMTPUTF8 (still common, and the next hop may lack it even when ours has it) refuses or bounces
 *   it, and the To header would need raw UTF-8 (message/global), which nothing here writes. Such an
 *   address would fail mid-send or bounce days later; refusing it when the list or config is read
 *   says what to do at once: ask the person for an ASCII address (those mailboxes nearly always
 *   have one). Unlike the domain, a local part has no ASCII form we could convert it to.
 * - Domain (after the @): at least two labels (`a@example` is refused: a bare host name is never a
 *   real recipient), IDN allowed (`a@münchen.de`). The domain is converted with UTS-46
 *   (`domainToASCII` from node:url), and every label of the ASCII form must be LDH (letters, digits,
 *   hyphens, not at either end) and at most 63 octets; the top-level label must not be all digits
 *   (no IP addresses, no address literals).
 * - Lengths, on the ASCII (wire) form: local part <= 64, domain <= 253, whole address <= 254.
 *
 * Three forms of an accepted address:
 * - `display`: as written, trimmed: for people (reports, status lines, errors).
 * - `wire`: the local part as written (case kept) @ the punycode domain, lower-cased
 *   (`a@xn--mnchen-3ya.de`): for the SMTP envelope (MAIL FROM, RCPT TO) and the To header.
 * - `key`: the wire form wholly lower-cased: for de-duplication and suppression matching, so
 *   `a@MÜNCHEN.de`, `a@münchen.de` and `A@xn--mnchen-3ya.de` are one recipient. (Local parts are
 *   case-sensitive in theory only: sending twice to `Ann@` and `ann@` is the real risk.)
 */
import { domainToASCII, domainToUnicode } from 'node:url';

export type ParsedAddress = { ok: true; display: string; wire: string; key: string } | { ok: false; reason: string };

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const ATEXT = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]$/;
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
/** Characters a domain may hold before IDN conversion: letters, marks and digits of any script, hyphens, dots (and the ideographic full stops UTS-46 maps to dots). */
const DOMAIN_CHARS = /^[\p{L}\p{M}\p{N}.\u3002\uff0e\uff61-]+$/u;
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** The usual address, already in wire form: skips the conversion (a list of 100,000 is mostly these). */
const PLAIN_ASCII =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const fail = (reason: string): ParsedAddress => ({ ok: false, reason });

/**
 * An `xn--` label must be real punycode that converts back to itself. Checked here because Node
 * differs: Node 20 and 22's domainToASCII refuse `xn--zz`, Node 24's passes it through unchanged.
 */
function validPunycode(label: string): boolean {
  if (!label.toLowerCase().startsWith('xn--')) return true;
  const unicode = domainToUnicode(label);
  return unicode !== '' && !unicode.toLowerCase().startsWith('xn--') && domainToASCII(unicode) === label.toLowerCase();
}

/** Check `input` (trimmed first) against the rule above; the reason, when refused, never quotes more than one character of it. */
export function parseAddress(input: string): ParsedAddress {
  const email = input.trim();
  // (An `xn--` label takes the long way, so that its punycode is checked.)
  if (PLAIN_ASCII.test(email) && email.length <= 254 && email.indexOf('@') <= 64 && !/\.\d+$/.test(email) && !email.includes('xn--')) {
    return { ok: true, display: email, wire: email, key: email.toLowerCase() };
  }
  if (email === '') return fail('empty');
  if (CONTROL.test(email)) return fail('a control character in the address');
  if (/[<>]/.test(email)) return fail('angle brackets: give only the address, without a name or <>');
  if (email.includes(',')) return fail('a comma in the address (one address at a time)');
  if (/\s/.test(email)) return fail('spaces in the address');
  if (/\p{C}/u.test(email)) return fail('an invisible or control character in the address');
  if (/^mailto:/i.test(email)) return fail('starts with "mailto:"');
  const at = email.split('@');
  if (at.length === 1) return fail('no @');
  if (at.length > 2) return fail('more than one @');
  const [local, domain] = at as [string, string];
  if (local === '') return fail('nothing before the @');
  if (domain === '') return fail('nothing after the @');

  // The local part.
  if (local.includes('"')) return fail('a quoted part before the @ (such as "john doe"@...): give the plain address');
  if (local.startsWith('.') || local.endsWith('.')) return fail('a dot at the start or end of the part before the @');
  if (local.includes('..')) return fail('two dots in a row');
  const nonAscii = [...local].find((c) => c.codePointAt(0)! > 0x7f);
  if (nonAscii !== undefined) {
    return fail(
      `the part before the @ has a non-ASCII letter ("${nonAscii}"): most mail servers refuse such addresses (they need SMTPUTF8); ask the person for their ASCII address`,
    );
  }
  if (!DOT_ATOM.test(local)) {
    const bad = [...local].find((c) => c !== '.' && !ATEXT.test(c));
    return fail(`"${bad}" is not allowed before the @`);
  }
  if (local.length > 64) return fail('more than 64 characters before the @');

  // The domain.
  if (domain.startsWith('.') || domain.endsWith('.')) return fail('the domain starts or ends with a dot');
  if (domain.includes('..')) return fail('two dots in a row');
  if (!DOMAIN_CHARS.test(domain)) {
    const bad = [...domain].find((c) => !DOMAIN_CHARS.test(c));
    return fail(`"${bad}" cannot be in a domain name (letters, digits, hyphens and dots only)`);
  }
  if (!/[.\u3002\uff0e\uff61]/.test(domain)) return fail('the domain has no dot (a bare host name such as "example" is not a mail domain)');
  if (/[.\u3002\uff0e\uff61][0-9]+$/.test(domain)) return fail('the domain ends in a number (an IP address is not a mail domain)');
  const ascii = domainToASCII(domain);
  const labels = ascii.split('.');
  if (ascii === '' || !labels.every(validPunycode)) return fail('the domain is not a valid international domain name');
  if (labels.length < 2 || labels.some((l) => l === '')) return fail('the domain has an empty part between dots');
  if (labels.some((l) => l.length > 63)) return fail('a part of the domain is longer than 63 characters');
  if (!labels.every((l) => LDH_LABEL.test(l)))
    return fail('the domain has characters a domain cannot have (letters, digits and hyphens between dots; no hyphen at either end of a part)');
  if (/^\d+$/.test(labels[labels.length - 1]!)) return fail('the domain ends in a number (an IP address is not a mail domain)');
  if (ascii.length > 253) return fail('the domain is longer than 253 characters');
  const wire = `${local}@${ascii}`;
  if (wire.length > 254) return fail('longer than 254 characters');
  return { ok: true, display: email, wire, key: wire.toLowerCase() };
}

/** True when `email` passes the rule. */
export function isValidAddress(email: string): boolean {
  return parseAddress(email).ok;
}

/** The wire form of an address (punycode domain), or the trimmed input when it does not pass the rule. */
export function wireAddress(email: string): string {
  const parsed = parseAddress(email);
  return parsed.ok ? parsed.wire : email.trim();
}

/**
 * The de-duplication key: the wire form lower-cased (`a@MÜNCHEN.de` -> `a@xn--mnchen-3ya.de`).
 * For text that does not pass the rule (an old ledger's entry, a suppression entry), the text
 * trimmed and lower-cased, so a key is always there to compare.
 */
export function addressKey(email: string): string {
  const parsed = parseAddress(email);
  return parsed.ok ? parsed.key : email.trim().toLowerCase();
}
