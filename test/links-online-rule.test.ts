/** The --check-links rule over an issue's links: a machine that reaches no site is told so once. */
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildIssue, type BuildResult } from '../src/index.js';
import { linksOnlineRule } from '../src/check/extra-rules.js';
import type { CheckContext } from '../src/check/types.js';
import { ROOT } from './helpers.js';

/** A port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let july: BuildResult;
beforeAll(async () => {
  july = await buildIssue('july-2025', { root: ROOT, write: false, check: false });
});

function ctxWithLinks(urls: string[]): CheckContext {
  const base = `http://127.0.0.1`;
  const issue = {
    ...july.issue,
    sections: [{ kind: 'notice' as const, heading: 'Links', body: urls.map((u, i) => `[link ${i}](${u})`).join('\n\n') }],
    accept: undefined,
  };
  const config = {
    ...july.config,
    social: [],
    brand: { ...july.config.brand, website: urls[0] ?? base, logo: { ...july.config.brand.logo, src: urls[0] ?? base } },
  };
  return { issue, config, issueFile: 'x.yaml', html: '', text: '', eml: Buffer.alloc(0), locate: () => undefined, locateIn: () => undefined };
}

describe('links-online rule', () => {
  it('when no link can be reached at all, says once that the computer seems offline', async () => {
    const port = await closedPort();
    const urls = [1, 2, 3].map((n) => `http://127.0.0.1:${port}/page-${n}`);
    const findings = await linksOnlineRule({ timeoutMs: 2000 }).run(ctxWithLinks(urls));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ rule: 'links-online', severity: 'error' });
    expect(findings[0]!.message).toMatch(/^none of the \d+ links and images could be reached .*seems to be offline/);
  });

  it('when some sites answer, each unreachable link is reported at its own place', async () => {
    const server = createHttpServer((_, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const up = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    const port = await closedPort();
    try {
      const findings = await linksOnlineRule({ timeoutMs: 2000 }).run(ctxWithLinks([up, `http://127.0.0.1:${port}/a`, `http://127.0.0.1:${port}/b`]));
      expect(findings.map((f) => /Link (\S+) cannot be reached/.exec(f.message)?.[1]).sort()).toEqual([
        `http://127.0.0.1:${port}/a`,
        `http://127.0.0.1:${port}/b`,
      ]);
    } finally {
      server.close();
    }
  });
});
