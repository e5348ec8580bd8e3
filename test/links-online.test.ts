import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLinksOnline, DEFAULT_USER_AGENT, describeNetworkError, type LinkTarget } from '../src/check/links-online.js';
import type { Finding } from '../src/check/types.js';

/** Requests seen by the server, as "METHOD /path". */
const seen: string[] = [];
const userAgents = new Set<string | undefined>();
/** For the concurrency test: requests to /gate/* are held until two are in flight. */
let active = 0;
let maxActive = 0;
let held: (() => void)[] = [];
let releasing: NodeJS.Timeout | undefined;

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  seen.push(`${req.method} ${url}`);
  userAgents.add(req.headers['user-agent']);
  const send = (status: number, headers: Record<string, string> = {}) => {
    res.writeHead(status, headers);
    res.end(req.method === 'GET' ? 'x'.repeat(1000) : undefined);
  };
  if (url.startsWith('/gate/')) {
    active++;
    maxActive = Math.max(maxActive, active);
    held.push(() => {
      active--;
      send(200);
    });
    // Hold requests until two are in flight, then give a client that ignores the limit a
    // moment to send a third before releasing the batch. A correct client always fills
    // each batch (so nothing waits on a clock), and a slow machine can only hide a bug,
    // never fail a correct client.
    if (active >= 2 && !releasing) {
      releasing = setTimeout(() => {
        releasing = undefined;
        const release = held;
        held = [];
        for (const r of release) r();
      }, 50);
    }
    return;
  }
  switch (url) {
    case '/ok':
    case '/count':
    case '/image.png':
      return send(200);
    case '/no-head':
      return req.method === 'HEAD' ? send(405) : send(200);
    case '/missing':
    case '/missing.png':
      return send(404);
    case '/error':
      return send(500);
    case '/moved':
      return send(301, { location: '/ok' });
    case '/temp-broken':
      return send(302, { location: `http://127.0.0.1:${port}/nowhere` });
    case '/forbidden':
      return send(403);
    case '/denied':
      return send(999);
    case '/loop':
      return send(302, { location: '/loop' });
    case '/hang':
      return; // never answers
    default:
      if (url.startsWith('/chain/')) {
        const n = Number(url.slice('/chain/'.length));
        return n > 0 ? send(302, { location: `/chain/${n - 1}` }) : send(200);
      }
      return send(404);
  }
});

let port = 0;
let base = '';
let closedPort = 0;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  // A port that was just free: nothing listens there, so connecting is refused.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const where = (line: number) => ({ file: 'issues/july-2025.yaml', line, col: 7 });
const link = (path: string, line: number): LinkTarget => ({ url: `${base}${path}`, kind: 'link', where: where(line) });
/** The findings at one line, i.e. for one target. */
const at = (findings: Finding[], line: number) => findings.filter((f) => f.where?.line === line);
const count = (request: string) => seen.filter((s) => s === request).length;

describe('checkLinksOnline against a local server', () => {
  let findings: Finding[];

  beforeAll(async () => {
    seen.length = 0;
    findings = await checkLinksOnline(
      [
        link('/ok', 1),
        link('/no-head', 2),
        link('/missing', 3),
        link('/error', 4),
        link('/moved', 5),
        link('/temp-broken', 6),
        link('/forbidden', 7),
        link('/denied', 8),
        { url: `http://127.0.0.1:${closedPort}/`, kind: 'link', where: where(9) },
        link('/missing', 10), // the same URL again
        link('/count', 11),
        link('/count#section', 12), // same request: the fragment is not sent
        { url: `${base}/missing.png`, kind: 'image', where: where(13) },
        { url: `${base}/image.png`, kind: 'image', where: where(14) },
        { url: 'mailto:liiateam@londoncouncils.gov.uk', kind: 'link', where: where(15) },
        { url: '#top', kind: 'link', where: where(16) },
        link('/loop', 17),
        link('/chain/5', 18),
        link('/chain/6', 19),
        { url: `${base}/ok`, kind: 'link' }, // no where: none in the finding either (and no finding)
      ],
      { timeoutMs: 5000 },
    );
  });

  it('passes good links, images and servers that refuse HEAD but answer GET', () => {
    for (const line of [1, 2, 11, 12, 14, 15, 16]) expect(at(findings, line)).toEqual([]);
    expect(count('HEAD /no-head')).toBe(1);
    expect(count('GET /no-head')).toBe(1);
  });

  it('errors on 404 and 500, naming the URL and the status', () => {
    expect(at(findings, 3)).toEqual([
      { rule: 'links-online', severity: 'error', message: expect.stringContaining(`${base}/missing answers 404 Not Found`), where: where(3) },
    ]);
    expect(at(findings, 4)).toEqual([
      { rule: 'links-online', severity: 'error', message: expect.stringContaining('500 Internal Server Error'), where: where(4) },
    ]);
    expect(at(findings, 3)[0]!.message).toContain('remove the link');
    // 404 on HEAD is believed: no second request.
    expect(count('GET /missing')).toBe(0);
  });

  it('checks a repeated URL once and reports it at every place', () => {
    expect(count('HEAD /missing')).toBe(1);
    expect(at(findings, 10)).toEqual([{ ...at(findings, 3)[0], where: where(10) }]);
    expect(count('HEAD /count')).toBe(1);
  });

  it('warns on a redirect and suggests the final URL', () => {
    const [f] = at(findings, 5);
    expect(f).toMatchObject({ rule: 'links-online', severity: 'warning', where: where(5) });
    expect(f!.message).toContain(`${base}/moved redirects (301 to ${base}/ok)`);
    expect(f!.message).toContain(`Use ${base}/ok instead`);
  });

  it('errors on a redirect that ends in a 404', () => {
    const [f] = at(findings, 6);
    expect(f).toMatchObject({ rule: 'links-online', severity: 'error', where: where(6) });
    expect(f!.message).toContain(`302 to ${base}/nowhere`);
    expect(f!.message).toContain('404 Not Found');
  });

  it('only warns on 403 and 999: those sites block robots', () => {
    expect(at(findings, 7)).toMatchObject([{ rule: 'links-online', severity: 'warning', where: where(7) }]);
    expect(at(findings, 7)[0]!.message).toContain('403 Forbidden');
    expect(at(findings, 8)).toMatchObject([{ rule: 'links-online', severity: 'warning', where: where(8) }]);
    expect(at(findings, 8)[0]!.message).toContain('999');
    // HEAD refused with 403: GET is tried before giving a verdict.
    expect(count('GET /forbidden')).toBe(1);
  });

  it('errors when the connection is refused, in plain words', () => {
    expect(at(findings, 9)).toEqual([{ rule: 'links-online', severity: 'error', message: expect.stringContaining('connection was refused'), where: where(9) }]);
  });

  it('words image findings for images', () => {
    expect(at(findings, 13)).toMatchObject([
      { severity: 'error', message: expect.stringMatching(/^Image .*\/missing\.png answers 404.*upload the image again/) },
    ]);
  });

  it('skips mailto: and #anchors without a request', () => {
    expect(seen.some((s) => s.includes('mailto') || s.includes('#'))).toBe(false);
  });

  it('stops at redirect loops and chains longer than 5 hops', () => {
    expect(at(findings, 17)).toMatchObject([{ severity: 'error', message: expect.stringContaining('loop') }]);
    expect(at(findings, 18)).toMatchObject([{ severity: 'warning', message: expect.stringContaining(`Use ${base}/chain/0 instead`) }]);
    expect(at(findings, 19)).toMatchObject([{ severity: 'error', message: expect.stringContaining('more than 5 times') }]);
  });

  it('reports nothing else, and leaves out `where` when the target has none', () => {
    expect(findings.every((f) => f.where !== undefined)).toBe(true);
    const lines = findings.map((f) => f.where!.line).sort((a, b) => a! - b!);
    expect(lines).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 13, 17, 18, 19]);
  });

  it('identifies itself with the default user agent', () => {
    expect([...userAgents]).toEqual([DEFAULT_USER_AGENT]);
  });
});

describe('checkLinksOnline limits', () => {
  it('times out a server that never answers', async () => {
    const findings = await checkLinksOnline([link('/hang', 1)], { timeoutMs: 300 });
    expect(findings).toEqual([{ rule: 'links-online', severity: 'error', message: expect.stringContaining('did not answer within 0.3 s'), where: where(1) }]);
  });

  it('never has more requests in flight than `concurrency`', async () => {
    maxActive = 0;
    const targets = Array.from({ length: 6 }, (_, i) => link(`/gate/${i}`, i + 1));
    const findings = await checkLinksOnline(targets, { concurrency: 2, timeoutMs: 10_000 });
    expect(findings).toEqual([]);
    expect(maxActive).toBe(2);
  });

  it('sends the user agent it is given and uses the fetch it is given', async () => {
    const calls: string[] = [];
    const fakeFetch: typeof fetch = async (input, init) => {
      calls.push(`${init?.method} ${String(input)} ${new Headers(init?.headers).get('user-agent')}`);
      return new Response(null, { status: 200 });
    };
    expect(await checkLinksOnline([{ url: 'https://example.org/a', kind: 'link' }], { fetch: fakeFetch, userAgent: 'test-agent' })).toEqual([]);
    expect(calls).toEqual(['HEAD https://example.org/a test-agent']);
  });
});

describe('describeNetworkError', () => {
  const failed = (cause: object) => Object.assign(new TypeError('fetch failed'), { cause });
  it('turns error codes into plain words', () => {
    expect(describeNetworkError(failed({ code: 'ENOTFOUND' }), 1000)).toContain('domain name does not exist');
    expect(describeNetworkError(failed({ code: 'CERT_HAS_EXPIRED' }), 1000)).toContain('certificate has expired');
    expect(describeNetworkError(failed({ errors: [{ code: 'ECONNREFUSED' }] }), 1000)).toContain('connection was refused');
    expect(describeNetworkError(new DOMException('aborted', 'TimeoutError'), 10_000)).toBe('it did not answer within 10 s');
    expect(describeNetworkError(failed({ message: 'something odd' }), 1000)).toBe('the request failed (something odd)');
  });
});
