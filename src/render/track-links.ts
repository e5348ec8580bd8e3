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

function excluded(host: string, t: TrackingConfig): boolean {
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
  for (const [key, value] of Object.entries(t.params)) {
    if (!url.searchParams.has(key)) url.searchParams.set(key, value.replaceAll('{slug}', slug));
  }
  return url.toString();
}

/**
 * Track every <a href> of the built HTML, except the addresses in `skip` (the
 * config's own links) and those under `skipPrefix` (the issue's own archive: its
 * calendar invites and web version).
 */
export function trackLinks(html: string, slug: string, t: TrackingConfig, skip: ReadonlySet<string>, skipPrefix?: string): string {
  if (!t.enabled) return html;
  return html.replace(/(<a\b[^>]*?\shref=")([^"]*)(")/gi, (whole, before: string, raw: string, after: string) => {
    const href = raw.replace(/&amp;/g, '&');
    if (skip.has(href) || (skipPrefix && href.startsWith(`${skipPrefix}/`))) return whole;
    const tracked = trackedUrl(href, slug, t);
    return tracked === href ? whole : `${before}${tracked.replace(/&/g, '&amp;')}${after}`;
  });
}
