/**
 * Tracked links: query parameters (UTM by default) appended to every http(s) link
 * of the issue, so the team's web analytics can tell visits from the newsletter
 * apart, issue by issue. Left alone: mailto: links, in-email #anchors, links to
 * excluded domains, the config's own links (website, social, unsubscribe), and
 * links that already carry the campaign parameter.
 */
export interface TrackingConfig {
  enabled: boolean;
  /** Parameter -> value; "{slug}" in a value becomes the name. */
  params: Record<string, string>;
  /** Domains (and their subdomains) whose links stay as written. */
  exclude: string[];
}

/** The parameter that names the issue (its value contains "{slug}"), e.g. utm_campaign. */
export function campaignParam(t: TrackingConfig): string | undefined {
  return Object.entries(t.params).find(([, v]) => v.includes('{slug}'))?.[0];
}

/** True when `host` is one of tracking.exclude's domains or under one. */
export function excluded(host: string, t: TrackingConfig): boolean {
  const h = host.toLowerCase().replace(/^www\./, '');
  return t.exclude.some((d) => {
    const domain = d.toLowerCase().replace(/^www\./, '');
    return h === domain || h.endsWith(`.${domain}`);
  });
}

/** `href` with the tracking parameters, or unchanged when it is not to be tracked. */
export function trackedUrl(href: string, slug: string, t: TrackingConfig): string {
  if (!t.enabled || !/^https?:\/\//i.test(href)) return href;
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return href;
  }
  if (excluded(url.hostname, t)) return href;
  const campaign = campaignParam(t);
  if (campaign && url.searchParams.has(campaign)) return href;
  const added = Object.entries(t.params)
    .filter(([key]) => !url.searchParams.has(key))
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value.replaceAll('{slug}', slug))}`);
  if (!added.length) return href;
  // Appended to the query as written, never re-serialised: URLSearchParams would turn %20
  // into +, "," into %2C and "flag" into "flag=", which breaks signed or fussy links.
  const hash = href.indexOf('#');
  let base = hash < 0 ? href : href.slice(0, hash);
  const fragment = hash < 0 ? '' : href.slice(hash);
  if (/^https?:\/\/[^/?#]*$/i.test(base)) base += '/'; // a bare origin gets its path, as URL writes it
  const joiner = !base.includes('?') ? '?' : /[?&]$/.test(base) ? '' : '&';
  return `${base}${joiner}${added.join('&')}${fragment}`;
}

/**
 * Every `<a href>` of an HTML document: the attribute double-quoted, single-quoted or
 * bare, with or without spaces around "=" (a team's own partial may write any of them;
 * MJML passes them through as written).
 * Groups: 1 what comes before the address, 2/3/4 the address, 5 the closing quote.
 */
const A_HREF = /(<a\b[^>]*?\shref\s*=\s*)(?:"([^"]*)(")|'([^']*)(')|([^\s"'>]+)())/gi;

/** The addresses of every `<a href>` of `html`, entities decoded, with where each stands. */
export function anchorHrefs(html: string): { href: string; index: number }[] {
  return [...html.matchAll(A_HREF)].map((m) => ({ href: (m[2] ?? m[4] ?? m[6] ?? '').replace(/&amp;/g, '&'), index: m.index }));
}

/** The config's own links (logo, social, unsubscribe page): left as written, in every issue. */
export function configLinks(config: { brand: { website: string }; social: { href: string }[]; unsubscribe: { url?: string } }): Set<string> {
  return new Set([config.brand.website, ...config.social.map((s) => s.href), ...(config.unsubscribe.url ? [config.unsubscribe.url] : [])]);
}

/** True for an address the build leaves untracked on purpose: the config's own, or the archive (invites, web version). */
export function untrackedByDesign(href: string, skip: ReadonlySet<string>, skipPrefix?: string): boolean {
  return skip.has(href) || Boolean(skipPrefix && href.startsWith(`${skipPrefix}/`));
}

/**
 * Track every <a href> of the built HTML, except the addresses in `skip` (the
 * config's own links) and those under `skipPrefix` (the issue's own archive: its
 * calendar invites and web version).
 */
export function trackLinks(html: string, slug: string, t: TrackingConfig, skip: ReadonlySet<string>, skipPrefix?: string): string {
  if (!t.enabled) return html;
  return html.replace(A_HREF, (whole, before: string, ...rest: (string | undefined)[]) => {
    const [dq, dqEnd, sq, sqEnd, bare, bareEnd] = rest;
    const raw = dq ?? sq ?? bare ?? '';
    const href = raw.replace(/&amp;/g, '&');
    if (untrackedByDesign(href, skip, skipPrefix)) return whole;
    const tracked = trackedUrl(href, slug, t);
    if (tracked === href) return whole;
    // Written back in its own quotes; a bare value gets double quotes (the tracked address holds "&amp;").
    const quote = dqEnd ?? sqEnd ?? bareEnd ?? '"';
    return `${before}${quote || '"'}${tracked.replace(/&/g, '&amp;')}${quote || '"'}`;
  });
}
