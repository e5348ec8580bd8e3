/**
 * Mail provider presets (config `send.provider`): where the provider's OAuth2 tokens come
 * from, and the limits it publishes for one mailbox. Every figure is overridable in the
 * config (`send.rate`, `send.connections`, `send.perDay`); where each comes from is in
 * docs/providers-research.md.
 *
 * And the provider's "over quota" replies: a send that meets one stops as capped (the
 * recipient is not failed, and the send can go on when the window allows), rather than
 * failing recipient after recipient until the error-rate pause stops it.
 */

import type { PROVIDER_IDS } from '../config.js';

export type ProviderId = (typeof PROVIDER_IDS)[number];

export interface ProviderPreset {
  /** As messages name it. */
  name: string;
  /** The submission server SMTP_URL normally names (a different one is allowed: a note, not an error). */
  host?: string;
  /** Messages per second. */
  rate: number;
  connections: number;
  /** Recipients per rolling 24 hours, for one mailbox; undefined for no known limit. */
  perDay?: number;
  /** OAuth2 defaults; a tenant is filled in for Microsoft. */
  oauth2?: { tokenUrl: (tenant?: string) => string | undefined; scope: string };
}

const MICROSOFT_SCOPE = 'https://outlook.office365.com/.default';
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const GOOGLE_SCOPE = 'https://mail.google.com/';
const microsoftTokenUrl = (tenant?: string) => (tenant ? `https://login.microsoftonline.com/${encodeURIComponent(tenant)}/oauth2/v2.0/token` : undefined);

export const PROVIDERS: Record<ProviderId, ProviderPreset> = {
  // Exchange Online sending limits: 30 messages a minute, 10,000 recipients a day (rolling 24 h),
  // and at most 3 concurrent SMTP submission connections per mailbox.
  microsoft365: {
    name: 'Microsoft 365',
    host: 'smtp.office365.com',
    rate: 0.5,
    connections: 3,
    perDay: 10_000,
    oauth2: { tokenUrl: microsoftTokenUrl, scope: MICROSOFT_SCOPE },
  },
  // Gmail sending limits in Google Workspace: 2,000 messages a day per user (500 on a trial),
  // rolling 24 h. Google publishes no per-minute figure: one a second is a cautious pace.
  'google-workspace': {
    name: 'Google Workspace',
    host: 'smtp.gmail.com',
    rate: 1,
    connections: 2,
    perDay: 2_000,
    oauth2: { tokenUrl: () => GOOGLE_TOKEN_URL, scope: GOOGLE_SCOPE },
  },
  generic: { name: 'your mail server', rate: 10, connections: 2 },
};

/** Which provider's tokens a server is, when the config does not say: by its host name. */
export function providerOfHost(host: string): ProviderId {
  const h = host.toLowerCase();
  if (/(^|\.)(office365\.com|outlook\.com)$/.test(h)) return 'microsoft365';
  if (/(^|\.)(gmail\.com|googlemail\.com)$/.test(h)) return 'google-workspace';
  return 'generic';
}

/** The window the daily limits count over: both providers' are rolling 24 hours. */
export const CAP_WINDOW_MS = 24 * 3_600_000;

export type CapKind =
  /** The mailbox's daily limit: nothing more until the window frees up. */
  | 'daily'
  /** Too fast (messages a minute, or connections at once): slow down and try the same recipient again. */
  | 'rate';

/**
 * Whether an SMTP reply is the provider saying "over quota" rather than anything about the
 * recipient. Matched on the enhanced status code together with the provider's wording, so an
 * ordinary 550 5.4.5 or 421 from another server is not taken for a cap.
 */
export function capOf(code: number | undefined, response: string): CapKind | undefined {
  const r = response;
  // Microsoft 365: 554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException (the daily recipient limit);
  // 550 5.7.233 (the tenant's external recipient limit); 5.2.2 "submission quota" (older wording).
  if (/SubmissionQuotaExceeded|5\.7\.233|\b5\.2\.2\b.*submission quota|sending (?:quota|limit) (?:was )?exceeded|recipient rate limit/i.test(r)) return 'daily';
  // Google: 550 5.4.5 Daily user sending limit exceeded (and "Daily SMTP relay limit exceeded for user").
  if (/\b5\.4\.5\b/.test(r) && /limit|quota/i.test(r)) return 'daily';
  if (code !== undefined && code >= 400 && code < 500) {
    // Exchange: 421 4.4.2 / 432 4.3.2 "Message submission rate for this client has exceeded the configured limit",
    // "STOREDRV.ClientSubmit; sender thread limit exceeded" (connections).
    if (/submission rate|thread limit exceeded|concurrent connections? limit|ClientSubmit/i.test(r)) return 'rate';
    // Google: 421 4.7.0 Try again later, closing connection ... / 4.7.0 rate limited / 454 4.7.0 Too many login attempts
    if (/\b4\.7\.0\b/.test(r) && /rate|too many|try again later/i.test(r)) return 'rate';
  }
  return undefined;
}
