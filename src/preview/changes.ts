/**
 * The preview's "Changes" tab: the last good build compared with the last test
 * send (what sends/<slug>/ kept of it), as the test copy's panel would say it, in a page
 * of its own (/changes.html, shown in a frame: the panel's inline styles need no CSS of the page's).
 */
import path from 'node:path';
import type { BuildResult } from '../build-issue.js';
import { changesHtml, londonTime } from '../review/format-changes.js';
import { changesSinceTestSend } from '../review/test-send-store.js';
import { snapshotVersion } from '../review/version-snapshot.js';

const page = (body: string) =>
  `<!doctype html><html lang="en"><meta charset="utf-8"><title>Changes</title><body style="margin:16px;font:15px/1.5 system-ui,sans-serif;color:#222">${body}</body></html>\n`;

/** /changes.html: what changed since the last test send, or why there is nothing to compare. */
export function changesPage(root: string, slug: string, build: BuildResult | undefined): string {
  if (!build) return page('<p>No good build yet: fix the error shown above and save.</p>');
  const since = changesSinceTestSend(path.join(root, 'sends', slug), snapshotVersion(build));
  if (!since)
    return page(
      `<p>No test send of ${slug} yet: after <code>build-issue test-send ${slug}</code>, this tab shows what changed since it, as the next test copy will.</p>`,
    );
  return page(changesHtml(since.diff, { label: `since the test send of ${londonTime(since.record.at)}` }));
}
