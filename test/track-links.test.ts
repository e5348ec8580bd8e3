/** Tracked links: UTM parameters on the issue's http(s) links, and the check for links that carry another campaign. */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildIssue } from '../src/index.js';
import { trackLinks, trackedUrl, type TrackingConfig } from '../src/render/track-links.js';
import { julyYaml, makeProject, replaceOnce, writeIssue } from './helpers.js';

const t: TrackingConfig = { enabled: true, params: { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: '{slug}' }, exclude: ['example.net'] };

describe('trackedUrl', () => {
  it('appends the parameters, with {slug} filled in, keeping the existing query and fragment', () => {
    expect(trackedUrl('https://www.gov.uk/x?a=1#top', 'july-2025', t)).toBe(
      'https://www.gov.uk/x?a=1&utm_source=newsletter&utm_medium=email&utm_campaign=july-2025#top',
    );
  });
  it('appends to the query exactly as written: no re-encoding of %20, commas or a bare flag (signed links stay valid)', () => {
    expect(trackedUrl('https://x.org/p?a=b%20c&list=1,2&flag&sig=AbC%2Fd+e', 's', t)).toBe(
      'https://x.org/p?a=b%20c&list=1,2&flag&sig=AbC%2Fd+e&utm_source=newsletter&utm_medium=email&utm_campaign=s',
    );
    expect(trackedUrl('https://x.org/p?', 's', t)).toBe('https://x.org/p?utm_source=newsletter&utm_medium=email&utm_campaign=s');
    expect(trackedUrl('https://x.org#top', 's', t)).toBe('https://x.org/?utm_source=newsletter&utm_medium=email&utm_campaign=s#top');
    // A parameter the link already has is kept as it is, not added twice.
    expect(trackedUrl('https://x.org/p?utm_source=partner', 's', t)).toBe('https://x.org/p?utm_source=partner&utm_medium=email&utm_campaign=s');
  });
  it('leaves mailto:, #anchors, excluded domains (and their subdomains) and links that already carry the campaign', () => {
    for (const href of ['mailto:a@example.org', '#lasob', 'https://example.net/a', 'https://news.example.net/b', 'https://x.org/?utm_campaign=june-2025']) {
      expect(trackedUrl(href, 'july-2025', t), href).toBe(href);
    }
  });
  it('does nothing when tracking is off', () => {
    expect(trackedUrl('https://x.org/', 'july-2025', { ...t, enabled: false })).toBe('https://x.org/');
  });
  it('trackLinks reads the address however the attribute is quoted (a bare one comes back double-quoted)', () => {
    const html = '<a href=\'https://a.org/x\'>a</a> <a href=https://b.org/y>b</a> <a title="t" href = "https://c.org/">c</a>';
    expect(trackLinks(html, 's', t, new Set())).toBe(
      "<a href='https://a.org/x?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=s'>a</a> " +
        '<a href="https://b.org/y?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=s">b</a> ' +
        '<a title="t" href = "https://c.org/?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=s">c</a>',
    );
  });
  it('trackLinks rewrites <a href> with &amp; in HTML, and skips the given addresses', () => {
    const html = '<a href="https://a.org/">a</a> <a class="x" href="https://b.org/?q=1&amp;r=2">b</a> <img src="https://a.org/i.png">';
    expect(trackLinks(html, 's', t, new Set(['https://a.org/']))).toBe(
      '<a href="https://a.org/">a</a> <a class="x" href="https://b.org/?q=1&amp;r=2&amp;utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=s">b</a> <img src="https://a.org/i.png">',
    );
  });
});

describe('tracking in the build', () => {
  it("tracks the July issue's links but not the config's (website, LinkedIn) nor mailto:", async () => {
    const r = await buildIssue('july-2025', { root: await makeProject(), write: false });
    expect(r.html).toContain('href="https://www.met.police.uk/?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=july-2025"');
    expect(r.html).toContain('href="https://www.linkedin.com/company/london-innovation-and-improvement-alliance/"');
    expect(r.html).toContain('href="https://liia.london/"');
    expect(r.html).toContain('href="mailto:referrals@saferlondon.org.uk"');
    expect(r.report.findings.filter((f) => f.rule === 'tracking')).toEqual([]);
  });

  it('reports a link that carries another campaign, at its YAML line', async () => {
    const project = await makeProject();
    const text = replaceOnce(
      await julyYaml(),
      '[Ofsted](https://www.gov.uk/government/organisations/ofsted)',
      '[Ofsted](https://www.gov.uk/government/organisations/ofsted?utm_campaign=june-2025)',
    );
    await writeIssue(project, 'july-2025', text);
    const r = await buildIssue('july-2025', { root: project, write: false });
    const f = r.report.findings.filter((x) => x.rule === 'tracking');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ severity: 'warning', where: { file: 'issues/july-2025.yaml', path: expect.stringMatching(/^sections\[\d+\]\.body$/) } });
    expect(f[0]!.message).toContain("utm_campaign=june-2025, not this issue's utm_campaign=july-2025");
  });

  it("the check reads the final HTML: a link there without this issue's campaign is reported, at its YAML line when the issue wrote it", async () => {
    const project = await makeProject();
    const r = await buildIssue('july-2025', { root: project, write: false });
    const tagged = 'https://www.met.police.uk/?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=july-2025';
    expect(r.html).toContain(tagged);
    // As if the build had missed two links: one the issue wrote, one from a template.
    const html = r.html.replace(tagged, 'https://www.met.police.uk/').replace('</body>', '<a href="https://liia.london/from-a-template">x</a></body>');
    const { runChecks } = await import('../src/check/index.js');
    const { loadIssue } = await import('../src/issue/load-issue.js');
    const loaded = await loadIssue(r.issueFile, 'issues/july-2025.yaml');
    const report = await runChecks({ ...loaded, config: r.config, slug: 'july-2025', issueFile: 'issues/july-2025.yaml', html, text: r.text, eml: r.eml });
    const f = report.findings.filter((x) => x.rule === 'tracking');
    expect(f.map((x) => x.message)).toEqual([
      expect.stringMatching(/^link "Metropolitan Police" has no utm_campaign=july-2025, so its visits will not be counted/),
      expect.stringMatching(/^a link to https:\/\/liia\.london\/from-a-template has no utm_campaign=july-2025/),
    ]);
    expect(f[0]!.where).toMatchObject({ file: 'issues/july-2025.yaml', path: expect.stringMatching(/^sections\[\d+\]\.body$/) });
    expect(f[1]!.where?.excerpt).toContain('from-a-template');
  });

  it('config can turn tracking off or exclude a domain', async () => {
    const project = await makeProject();
    const cfg = path.join(project, 'newsletter.config.yaml');
    await writeFile(cfg, `${await readFile(cfg, 'utf8')}\ntracking:\n  exclude: [gov.uk]\n`);
    const r = await buildIssue('july-2025', { root: project, write: false });
    expect(r.html).toContain('href="https://www.gov.uk/government/organisations/ofsted"');
    expect(r.html).toContain('utm_campaign=july-2025'); // others still tracked
    await writeFile(cfg, (await readFile(cfg, 'utf8')).replace('tracking:\n  exclude: [gov.uk]\n', 'tracking:\n  enabled: false\n'));
    const off = await buildIssue('july-2025', { root: project, write: false });
    expect(off.html).not.toContain('utm_');
  });
});
