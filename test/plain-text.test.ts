/**
 * The plain-text part reads as text: links as numbered references listed after
 * their paragraph (or list, or layout cell), no tracking parameters, lines of at
 * most 78 characters; and the review .eml carries the sends' list headers.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildIssue, toPlainText, type BuildResult } from '../src/index.js';
import { listHeaders as sendListHeaders, prepareMessage } from '../src/send/message.js';
import { listHeaders } from '../src/render/build-eml.js';
import { TEXT_WIDTH } from '../src/render/to-plain-text.js';
import { makeProject } from './helpers.js';

/** Lines wider than the text width that are not one address alone (a URL or mailto, no spaces). */
/** A parsed message's header fields of one name, unfolded (RFC 5322 2.2.3), as written. */
const fields = (mail: { headerLines: readonly { key: string; line: string }[] }, key: string) =>
  mail.headerLines.filter((h) => h.key === key).map((h) => h.line.replace(/\r?\n(?=[ \t])/g, ''));

const overlong = (text: string) => text.split('\n').filter((l) => [...l].length > TEXT_WIDTH && !/^(https?:\/\/|mailto:)\S+$/.test(l));

describe('toPlainText: links as numbered references', () => {
  it('puts "text [n]" in the sentence and "[n] address" after the paragraph, numbering on through the next paragraph', () => {
    const text = toPlainText(
      '<p>Read the <a href="https://example.org/guidance">guidance</a> and <a href="https://example.org/book">book a place</a>.</p>' +
        '<p>Then <a href="https://example.org/feedback">tell us</a> how it went.</p>',
    );
    expect(text).toBe(
      [
        'Read the guidance [1] and book a place [2].',
        '',
        '[1] https://example.org/guidance',
        '[2] https://example.org/book',
        '',
        'Then tell us [3] how it went.',
        '',
        '[3] https://example.org/feedback',
        '',
      ].join('\n'),
    );
  });

  it('puts a long address alone on its own line, whole, after its number', () => {
    const url = `https://example.org/${'a-long-path-segment/'.repeat(6)}page`;
    const text = toPlainText(`<p>See <a href="${url}">the page</a>.</p>`);
    expect(text).toBe(`See the page [1].\n\n[1]\n${url}\n`);
    expect(overlong(text)).toEqual([]);
  });

  it('keeps a mailto link whose text is the address as the bare address; another mailto link is a reference', () => {
    const text = toPlainText(
      '<p>Write to <a href="mailto:team@example.org">team@example.org</a> or <a href="mailto:team@example.org?subject=Feedback">send feedback</a>.</p>',
    );
    expect(text).toBe('Write to team@example.org or send feedback [1].\n\n[1] mailto:team@example.org?subject=Feedback\n');
  });

  it('keeps a link whose text is its address inline, with no reference, on its own line when it does not fit', () => {
    expect(toPlainText('<p>Go to <a href="https://example.org/news">https://example.org/news</a> now.</p>')).toBe('Go to https://example.org/news now.\n');
    const url = `https://example.org/${'segment/'.repeat(10)}`;
    const text = toPlainText(`<p>The whole archive is at <a href="${url}">${url}</a> for anyone who asks.</p>`);
    expect(text).toBe(`The whole archive is at\n${url}\nfor anyone who asks.\n`);
    expect(text).not.toContain('[1]');
  });

  it('lists the references of a nested list after the whole list, and keeps the bullets and nesting', () => {
    const text = toPlainText(
      '<p>Before.</p><ul><li>One <a href="https://example.org/1">first</a></li><li>Two<ul><li>Nested <a href="https://example.org/2">second</a></li></ul></li></ul><p>After.</p>',
    );
    expect(text).toBe(
      [
        'Before.',
        '',
        ' - One first [1]',
        ' - Two',
        '   - Nested second [2]',
        '',
        '[1] https://example.org/1',
        '[2] https://example.org/2',
        '',
        'After.',
        '',
      ].join('\n'),
    );
  });

  it('drops the UTM parameters and keeps every other query parameter as written', () => {
    const text = toPlainText(
      '<p><a href="https://example.org/search?q=child+first&amp;utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=july-2025&amp;page=2#results">Search</a></p>' +
        '<p><a href="https://example.org/?utm_source=newsletter&amp;utm_content=x&amp;utm_term=y&amp;ref=abc">Home</a></p>',
      { dropParams: ['ref'] },
    );
    expect(text).toContain('[1] https://example.org/search?q=child+first&page=2#results');
    expect(text).toContain('[2] https://example.org/\n');
  });

  it('names a linked image by its alt text, and leaves #anchor links as their text', () => {
    const text = toPlainText(
      '<p><a href="#news">News</a></p><table><tr><td><a href="https://example.org/leaflet"><img src="x.png" alt="The leaflet"></a></td></tr></table>',
    );
    expect(text).toBe('News\n\nThe leaflet [1]\n\n[1] https://example.org/leaflet\n');
  });

  it("keeps the older inline form on request (a calendar invite's description)", () => {
    expect(toPlainText('<p>Read <a href="https://example.org/a">the notes</a>.</p>', { links: 'inline' })).toBe('Read the notes <https://example.org/a>.\n');
  });
});

describe('the July plain text', () => {
  let result: BuildResult;

  beforeAll(async () => {
    result = await buildIssue('july-2025', { root: await makeProject(), write: false });
  });

  it('has no line over 78 characters, except lines that are one address alone', () => {
    expect(overlong(result.text)).toEqual([]);
  });

  it('shows no tracking parameters (the HTML keeps them)', () => {
    expect(result.text).not.toContain('utm_');
    expect(result.html).toContain('utm_campaign=july-2025');
  });

  it('puts a paragraph\'s links as "text [n]" in the sentence and "[n] address" after that paragraph', () => {
    const paragraphs = result.text.split('\n\n');
    const at = paragraphs.findIndex((p) => p.includes('regulators including Department for Education ['));
    expect(at).toBeGreaterThan(0);
    const n = Number(/Department for Education \[(\d+)\]/.exec(paragraphs[at]!)![1]);
    expect(paragraphs[at]).toContain(`Ofsted [${n + 5}]`);
    expect(paragraphs[at + 1]!.split('\n')).toEqual([
      `[${n}] https://www.gov.uk/government/organisations/department-for-education`,
      `[${n + 1}]`,
      'https://www.london.gov.uk/programmes-strategies/mayors-office-policing-and-crime',
      `[${n + 2}]`,
      'https://www.london.gov.uk/programmes-strategies/communities-and-social-justice/londons-violence-reduction-unit-vru',
      `[${n + 3}] https://www.met.police.uk/`,
      `[${n + 4}] https://www.england.nhs.uk/`,
      `[${n + 5}] https://www.gov.uk/government/organisations/ofsted`,
    ]);
    // A button: its label, then its address.
    expect(result.text).toMatch(/^Get tickets \[(\d+)\]\n\n\[\1\] https:\/\/liia\.london\/newsletter\/july-2025\/child-first-webinar$/m);
  });

  it('numbers the references 1, 2, 3... through the whole email, each listed once after its marker', () => {
    const markers = [...result.text.matchAll(/ \[(\d+)\](?=[\s.,;:)]|$)/g)].map((m) => Number(m[1]));
    expect(markers.length).toBeGreaterThan(20);
    expect(markers).toEqual(markers.map((_, i) => i + 1));
    for (const n of markers) {
      const listed = result.text.indexOf(`\n[${n}]`);
      expect(listed).toBeGreaterThan(result.text.indexOf(` [${n}]`));
      expect(result.text.split('\n').filter((l) => l === `[${n}]` || l.startsWith(`[${n}] `))).toHaveLength(1);
    }
  });

  it('keeps the contact addresses inline, as written', () => {
    expect(result.text).toContain('please contact: liiateam@londoncouncils.gov.uk');
    expect(result.text).toContain('please contact\nreferrals@saferlondon.org.uk and');
  });
});

describe('the review .eml carries the list headers every send carries', () => {
  /** A project whose config has (or not) an https unsubscribe page. */
  async function project(url?: string): Promise<string> {
    const dir = await makeProject();
    if (url) {
      const cfg = path.join(dir, 'newsletter.config.yaml');
      const yaml = await readFile(cfg, 'utf8');
      const from = 'unsubscribe:\n  mailto: liiateam@londoncouncils.gov.uk';
      expect(yaml).toContain(from);
      await writeFile(cfg, yaml.replace(from, `${from}\n  url: ${url}`));
    }
    return dir;
  }

  it('with only a mailto: List-Unsubscribe with subject=Unsubscribe, a List-Id, and no List-Unsubscribe-Post', async () => {
    const r = await buildIssue('july-2025', { root: await project(), write: false, check: false });
    const mail = await simpleParser(r.eml);
    expect(fields(mail, 'list-unsubscribe')).toEqual(['List-Unsubscribe: <mailto:liiateam@londoncouncils.gov.uk?subject=Unsubscribe>']);
    expect(fields(mail, 'list-unsubscribe-post')).toEqual([]);
    expect(fields(mail, 'list-id')).toEqual(['List-ID: London Innovation and Improvement Alliance <newsletter.londoncouncils.gov.uk>']);
  });

  it('with an https unsubscribe page: that URL first, then the mailto, and one-click List-Unsubscribe-Post', async () => {
    const r = await buildIssue('july-2025', { root: await project('https://liia.london/newsletter/unsubscribe'), write: false, check: false });
    const mail = await simpleParser(r.eml);
    expect(fields(mail, 'list-unsubscribe')).toEqual([
      'List-Unsubscribe: <https://liia.london/newsletter/unsubscribe>, <mailto:liiateam@londoncouncils.gov.uk?subject=Unsubscribe>',
    ]);
    expect(fields(mail, 'list-unsubscribe-post')).toEqual(['List-Unsubscribe-Post: List-Unsubscribe=One-Click']);
  });

  it('a send copy carries each list header once, the same as the review copy (send/ re-exports the one function)', async () => {
    const root = await project('https://liia.london/newsletter/unsubscribe');
    const r = await buildIssue('july-2025', { root, write: false, check: false });
    expect(sendListHeaders).toBe(listHeaders);
    const prepared = await prepareMessage(r, r.config, { root, env: {} });
    const copy = Buffer.concat(await prepared.forRecipient({ email: 'reader@example.org' })).toString('latin1');
    const head = copy.slice(0, copy.indexOf('\r\n\r\n'));
    for (const name of ['List-Id', 'List-Unsubscribe', 'List-Unsubscribe-Post']) {
      expect(head.match(new RegExp(`^${name}:`, 'gim'))?.length, name).toBe(1);
    }
    const review = await simpleParser(r.eml);
    const sent = await simpleParser(Buffer.from(copy, 'latin1'));
    for (const key of ['list-id', 'list-unsubscribe', 'list-unsubscribe-post']) {
      expect(fields(sent, key), key).toEqual(fields(review, key));
    }
  });
});
