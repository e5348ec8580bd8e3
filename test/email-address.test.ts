/**
 * The one email-address rule (src/issue/email-address.ts), and that the config, the
 * circulation list and calendar invites all use it. Addresses are example.org/.de only.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventIcs } from '../src/authoring/calendar.js';
import { loadConfig } from '../src/config.js';
import { NewsletterError } from '../src/errors.js';
import { addressKey, isValidAddress, parseAddress, wireAddress } from '../src/issue/email-address.js';
import { readList } from '../src/send/list.js';
import { ROOT } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'newsletter-address-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const reason = (s: string) => {
  const r = parseAddress(s);
  return r.ok ? undefined : r.reason;
};

describe('the three cases the config, the list and the invites used to disagree on', () => {
  it('jörg@example.de: refused, saying the part before the @ is not ASCII and what to do', () => {
    expect(reason('jörg@example.de')).toBe(
      'the part before the @ has a non-ASCII letter ("ö"): most mail servers refuse such addresses (they need SMTPUTF8); ask the person for their ASCII address',
    );
  });

  it('a@münchen.de: accepted; shown as written, punycode on the wire, one key for every spelling', () => {
    expect(parseAddress('a@münchen.de')).toEqual({ ok: true, display: 'a@münchen.de', wire: 'a@xn--mnchen-3ya.de', key: 'a@xn--mnchen-3ya.de' });
    expect(wireAddress('a@MÜNCHEN.de')).toBe('a@xn--mnchen-3ya.de');
    expect(new Set(['a@münchen.de', 'a@MÜNCHEN.de', 'a@xn--mnchen-3ya.de', ' A@XN--MNCHEN-3YA.DE '].map(addressKey))).toEqual(new Set(['a@xn--mnchen-3ya.de']));
  });

  it('a@example: refused (a bare host name is never a real recipient)', () => {
    expect(reason('a@example')).toMatch(/^the domain has no dot/);
  });
});

describe('the rule', () => {
  it.each([
    'a@example.org',
    'first.last+tag@sub.example.org',
    "o'brien@example.org",
    'x_y-z@ex-ample.org',
    "!#$%&'*+/=?^_`{|}~-@example.org",
    'a@xn--mnchen-3ya.de',
    'a@例え.jp',
    'a@b.c1',
    '  padded@example.org  ',
  ])('accepts %j', (a) => expect(parseAddress(a).ok).toBe(true));

  it.each([
    ['', /empty/],
    ['example.org', /no @/],
    ['a@b@example.org', /more than one @/],
    ['a b@example.org', /spaces/],
    ['"a b"@example.org', /spaces/],
    ['"ab"@example.org', /quoted part before the @/],
    ['<a@example.org>', /angle brackets/],
    ['Ann <a@example.org>', /angle brackets/],
    ['a@example.org,b@example.org', /comma/],
    ['mailto:a@example.org', /mailto/],
    ['a\u200b@example.org', /invisible/],
    ['a\u0000@example.org', /control character/],
    ['@example.org', /nothing before the @/],
    ['a@', /nothing after the @/],
    ['.a@example.org', /dot at the start or end/],
    ['a.@example.org', /dot at the start or end/],
    ['a..b@example.org', /two dots/],
    ['a(b)@example.org', /"\(" is not allowed before the @/],
    ['a@.example.org', /starts or ends with a dot/],
    ['a@example.org.', /starts or ends with a dot/],
    ['a@example..org', /two dots/],
    ['a@-example.org', /hyphen at either end/],
    ['a@example-.org', /hyphen at either end/],
    ['a@ex_ample.org', /"_" cannot be in a domain/],
    ['a@⑴x.org', /characters a domain cannot have/], // UTS-46 maps ⑴ to "(1)"
    ['a@ex%41mple.org', /"%" cannot be in a domain/],
    ['a@[192.168.0.1]', /"\[" cannot be in a domain/],
    ['a@192.168.0.1', /ends in a number/],
    ['a@example.123', /ends in a number/],
    ['a@xn--zz.de', /not a valid international domain name/],
    // Node 24's domainToASCII passes these through; Node 20 and 22 refuse them: the rule must not differ.
    ['a@xn--a.de', /not a valid international domain name/],
    ['a@xn--abc-.de', /not a valid international domain name/],
    ['a@XN--ZZ.de', /not a valid international domain name/],
    ['ñ@example.org', /non-ASCII/],
  ])('refuses %j', (a, why) => expect(reason(a)).toMatch(why));

  describe('lengths, on the wire form', () => {
    const label = (c: string, n = 63) => c.repeat(n);
    it('local part: 64 accepted, 65 refused', () => {
      expect(isValidAddress(`${'a'.repeat(64)}@example.org`)).toBe(true);
      expect(reason(`${'a'.repeat(65)}@example.org`)).toMatch(/more than 64 characters before the @/);
    });
    it('a label: 63 accepted, 64 refused', () => {
      expect(isValidAddress(`a@${label('b')}.org`)).toBe(true);
      expect(reason(`a@${label('b', 64)}.org`)).toMatch(/longer than 63/);
    });
    it('domain: 253 accepted (with a one-letter local part the address is 255: refused as a whole); 254+ refused', () => {
      const d253 = `${label('b')}.${label('c')}.${label('d')}.${label('e', 61)}`;
      expect(d253).toHaveLength(253);
      expect(reason(`a@${d253}`)).toMatch(/longer than 254 characters/);
      const d252 = d253.slice(1);
      expect(parseAddress(`a@${d252}`)).toMatchObject({ ok: true });
      expect(`a@${d252}`).toHaveLength(254);
      expect(reason(`a@${label('b')}.${label('c')}.${label('d')}.${label('e')}`)).toMatch(/domain is longer than 253/);
    });
    it('an IDN domain is measured in punycode, not in letters', () => {
      // 40 "ü" make a 47-octet label: fine. 60 make a label over 63 octets: refused, though 60 letters.
      expect(isValidAddress(`a@${'ü'.repeat(40)}.de`)).toBe(true);
      expect(reason(`a@${'ü'.repeat(60)}.de`)).toMatch(/longer than 63/);
    });
  });

  it('keeps the case of the local part on the wire, lower-cases the domain; the key is lower-case', () => {
    expect(parseAddress('Ann.Smith@Example.ORG')).toEqual({
      ok: true,
      display: 'Ann.Smith@Example.ORG',
      wire: 'Ann.Smith@example.org',
      key: 'ann.smith@example.org',
    });
  });

  it('text that is not an address keeps a key and a wire form (trimmed), so an old ledger line still compares', () => {
    expect(addressKey(' Not An Address ')).toBe('not an address');
    expect(wireAddress(' jörg@example.de ')).toBe('jörg@example.de');
  });
});

describe('one rule everywhere', () => {
  async function configWith(from: string, to: string): Promise<string> {
    const text = (await readFile(path.join(ROOT, 'newsletter.config.yaml'), 'utf8')).replace(from, to);
    expect(text).toContain(to);
    const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(file, text);
    return file;
  }

  async function configError(file: string): Promise<NewsletterError> {
    const err = await loadConfig(file, dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NewsletterError);
    return err as NewsletterError;
  }

  it('config: a refused address names the file, line, field and why', async () => {
    const file = await configWith('address: liiateam@londoncouncils.gov.uk', 'address: jörg@londoncouncils.gov.uk');
    const err = await configError(file);
    expect(err.code).toBe('ECONFIG');
    const problem = err.problems.find((p) => p.path === 'sender.address')!;
    expect(problem.where).toBe(`${path.basename(file)}:7:12`);
    expect(problem.message).toMatch(/not an email address: the part before the @ has a non-ASCII letter/);

    const bare = await configError(await configWith('  - editor@example.org', '  - editor@example'));
    expect(bare.problems).toEqual([expect.objectContaining({ path: 'editors[0]', message: expect.stringMatching(/the domain has no dot/) as string })]);
  });

  it('config: an IDN domain is accepted (it goes in punycode on the wire)', async () => {
    const config = await loadConfig(await configWith('  - editor@example.org', '  - editor@münchen.de'), dir);
    expect(config.editors).toEqual(['editor@münchen.de']);
  });

  it('the list: the same three cases, the same answers', async () => {
    const file = path.join(dir, 'list.csv');
    await writeFile(file, 'email\njörg@example.de\na@münchen.de\na@example\n');
    const r = await readList(file);
    expect(r.recipients).toEqual([{ email: 'a@münchen.de', wire: 'a@xn--mnchen-3ya.de', line: 3 }]);
    expect(r.invalid.map((p) => [p.line, p.reason])).toEqual([
      [2, reason('jörg@example.de')],
      [4, reason('a@example')],
    ]);
  });

  it('calendar invites: the organiser is checked by the rule, and written in punycode', () => {
    const base = { title: 'T', description: 'D', start: '2025-07-10T14:00', uid: 'u@example.org', now: new Date(0) };
    const ics = eventIcs({ ...base, organizer: { name: 'Org', email: 'events@münchen.de' } });
    expect(ics).toContain('ORGANIZER;CN=Org:mailto:events@xn--mnchen-3ya.de\r\n');
    for (const bad of ['jörg@example.de', 'a@example']) {
      expect(() => eventIcs({ ...base, organizer: { name: 'Org', email: bad } })).toThrow(new RegExp(`organizer: "${bad}": ${reason(bad)!.slice(0, 20)}`));
    }
  });
});
