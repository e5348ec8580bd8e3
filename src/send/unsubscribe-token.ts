/**
 * Per-recipient unsubscribe tokens (RFC 8058 asks for a one-click URI that identifies the
 * recipient and cannot be guessed). A token carries the address, sealed: AES-256-GCM under
 * a key derived from UNSUBSCRIBE_SECRET, the list id as associated data, and as the nonce
 * the first 12 bytes of an HMAC of the list id and the address. So:
 *
 * - it cannot be forged or altered (GCM's tag, checked in constant time by OpenSSL), nor
 *   moved to another list (the list id is authenticated with it);
 * - it does not show the address to whoever sees the URL (a proxy's log, a link scanner),
 *   unlike an HMAC next to the address in clear;
 * - it is the same in every send to the same address (the nonce is derived, never random),
 *   so a link in last month's issue still works, and a replay only repeats what was asked.
 *
 * A derived nonce is safe here because the same nonce always comes with the same plaintext
 * (it is a function of it): GCM's nonce-reuse problem is two different messages under one nonce.
 */
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';
import { NewsletterError } from '../errors.js';
import { addressKey } from '../issue/email-address.js';
import { listIdOf } from '../render/build-eml.js';

const NONCE = 12;
const TAG = 16;
/** An address is at most 254 octets (RFC 5321 with RFC 3696's erratum); anything longer is not a token of ours. */
const MAX_ADDRESS = 320;

/** The secret's shortest accepted length: 32 characters of `openssl rand -base64 32` are 192 bits. */
export const MIN_SECRET_LENGTH = 32;

export interface UnsubscribeKeys {
  list: string;
  encryption: Buffer;
  nonce: Buffer;
}

/** Keys for `list` (the List-Id) from the secret. Throws ESMTP_CONFIG for a secret too short to be one. */
export function unsubscribeKeys(secret: string, list: string, shown = 'UNSUBSCRIBE_SECRET'): UnsubscribeKeys {
  if (secret.length < MIN_SECRET_LENGTH)
    throw new NewsletterError('ESMTP_CONFIG', `${shown} is too short to be a secret (${secret.length} characters; at least ${MIN_SECRET_LENGTH})`, {
      hint: 'Make one with: openssl rand -base64 32, and put it in .env as UNSUBSCRIBE_SECRET=... (the same on the machine that sends and the one that runs unsubscribe-server).',
    });
  const derive = (purpose: string) => createHmac('sha256', secret).update(`liia-newsletter unsubscribe ${purpose}`).digest();
  return { list, encryption: derive('encryption'), nonce: derive('nonce') };
}

function nonceOf(keys: UnsubscribeKeys, address: string): Buffer {
  return createHmac('sha256', keys.nonce).update(`${keys.list}\n${address}`).digest().subarray(0, NONCE);
}

/** The token for `email` (its address key: the same token for any spelling of one address). */
export function unsubscribeToken(keys: UnsubscribeKeys, email: string): string {
  const address = addressKey(email);
  const nonce = nonceOf(keys, address);
  const cipher = createCipheriv('aes-256-gcm', keys.encryption, nonce);
  cipher.setAAD(Buffer.from(keys.list, 'utf8'));
  const sealed = Buffer.concat([cipher.update(address, 'utf8'), cipher.final()]);
  return Buffer.concat([nonce, sealed, cipher.getAuthTag()]).toString('base64url');
}

/** The address a token was made for, or undefined for anything that is not one of ours (forged, altered, another list's, garbage). */
export function readUnsubscribeToken(keys: UnsubscribeKeys, token: string): string | undefined {
  if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{1,600}$/.test(token)) return undefined;
  const raw = Buffer.from(token, 'base64url');
  if (raw.length <= NONCE + TAG || raw.length > NONCE + MAX_ADDRESS + TAG) return undefined;
  const nonce = raw.subarray(0, NONCE);
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.encryption, nonce);
    decipher.setAAD(Buffer.from(keys.list, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - TAG));
    const address = Buffer.concat([decipher.update(raw.subarray(NONCE, raw.length - TAG)), decipher.final()]).toString('utf8');
    // The nonce must be the one this address gets: a token sealed under another nonce is not ours.
    return timingSafeEqual(nonce, nonceOf(keys, address)) ? address : undefined;
  } catch {
    return undefined;
  }
}

/** The one-click URL for a token: the configured page, with t=<token> added to its query. */
export function unsubscribeUrl(base: string, token: string): string {
  const url = new URL(base);
  url.searchParams.set('t', token);
  return url.href;
}

/**
 * The keys for this config's list from UNSUBSCRIBE_SECRET, or undefined when there is no
 * secret and none is needed. A send to the list with unsubscribe.url needs one (a one-click
 * URL must say who is leaving), and so does the endpoint; a test send goes without (its
 * copies carry the shared link).
 */
export function unsubscribeKeysFor(config: Config, env: NodeJS.ProcessEnv, use: 'send' | 'test' | 'server'): UnsubscribeKeys | undefined {
  const secret = env.UNSUBSCRIBE_SECRET;
  if (!secret) {
    if (use === 'test' || (use === 'send' && !config.unsubscribe.url)) return undefined;
    throw new NewsletterError(
      use === 'server' ? 'ESMTP_CONFIG' : 'ESEND_REFUSED',
      use === 'server'
        ? 'UNSUBSCRIBE_SECRET is not set: the endpoint cannot read the tokens in the unsubscribe links'
        : `not sending: unsubscribe.url is set (${config.unsubscribe.url}), but UNSUBSCRIBE_SECRET is not, so its one-click link could not say who wants to leave`,
      {
        hint: 'Make a secret with: openssl rand -base64 32, and put it in .env as UNSUBSCRIBE_SECRET=... (git-ignored), the same on the machine that sends and the one that runs unsubscribe-server. Keep it: a new secret makes the links in earlier issues invalid.',
      },
    );
  }
  return unsubscribeKeys(secret, listIdOf(config));
}
