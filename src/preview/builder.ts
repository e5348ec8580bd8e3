/**
 * The preview's build loop: builds the issue when told a file changed, debounced, one
 * build at a time, and exactly one more if a change came in during a build. Keeps the
 * last good build (what the page shows) and the latest error.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildIssue, type BuildOptions, type BuildResult, type BuiltEmail } from '../build-issue.js';
import { NewsletterError } from '../errors.js';

/** The lines of the files a finding or problem can point at (the issue and config), by path relative to root, read after the build. */
export type Sources = Map<string, string[]>;

export interface GoodBuild {
  build: number;
  result: BuildResult;
  ms: number;
  at: Date;
  sources: Sources;
}

export interface FailedBuild {
  build: number;
  error: NewsletterError | Error;
  ms: number;
  at: Date;
  sources: Sources;
}

export interface BuilderOptions {
  root: string;
  /** As given to buildIssue. */
  issue: string;
  build: BuildOptions;
  /** Files whose lines findings and problems may point at (the issue and config), read after each build. */
  sourceFiles: string[];
  /** Quiet time after a change before rebuilding, in ms. */
  debounceMs: number;
  /** As soon as a build's email is made, before its checks and writing (not after close). */
  onEmail?(build: number, email: BuiltEmail): void;
  /** After each good build (not after close). `changed`: the files that caused it, relative to root. */
  onBuilt(good: GoodBuild, changed: string[]): void;
  /** After each failed build (not after close). */
  onFailed(failed: FailedBuild, changed: string[]): void;
}

export class Builder {
  /** Builds finished so far, failed ones included. */
  count = 0;
  building = false;
  lastGood: GoodBuild | undefined;
  /** Set while the latest build failed. */
  lastError: FailedBuild | undefined;
  /** The email to show: the build under way's, once made, else the last good build's. */
  email(): { build: number; html: string; text: string; assets: BuiltEmail['assets'] } | undefined {
    if (this.early) return { build: this.early.build, ...this.early.email };
    const g = this.lastGood;
    return g && { build: g.build, html: g.result.html, text: g.result.text, assets: g.result.assets };
  }

  /** The latest build, good or failed. */
  latest: { ms: number; at: Date } | undefined;
  /** The email of the build under way, made before its checks and writing (cleared when it ends). */
  early: { build: number; email: BuiltEmail } | undefined;
  /** The first build's "no such issue": startPreview throws it rather than serve an error page forever. */
  fatal: NewsletterError | undefined;

  private closed = false;
  private readonly changed = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly options: BuilderOptions) {}

  /** A file changed (absolute path): build after the debounce. */
  change(file: string): void {
    if (this.closed) return;
    this.changed.add(path.relative(this.options.root, file) || file);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closed) void this.kick();
    }, this.options.debounceMs);
  }

  /** Build now (no debounce). Resolves when a build that started after this call has finished; never rejects. */
  rebuild(): Promise<void> {
    if (this.closed) return Promise.resolve();
    clearTimeout(this.timer);
    this.timer = undefined;
    return this.kick();
  }

  /** Stop: no more builds; resolves when a running one has finished. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running; // never rejects
  }

  private kick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.buildOnce();
        } while (this.again && !this.closed);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private readSources(): Sources {
    const sources: Sources = new Map();
    for (const f of this.options.sourceFiles) {
      try {
        sources.set(path.relative(this.options.root, f) || f, readFileSync(f, 'utf8').split(/\r?\n/));
      } catch {
        // Shown without its line, then.
      }
    }
    return sources;
  }

  private async buildOnce(): Promise<void> {
    const because = [...this.changed];
    this.changed.clear();
    this.building = true;
    const started = performance.now();
    let outcome: { result: BuildResult } | { error: NewsletterError | Error };
    try {
      const onEmail = (email: BuiltEmail) => {
        // Its number if it ends well: builds are numbered as they end, failed ones included.
        this.early = { build: this.count + 1, email };
        if (!this.closed) this.options.onEmail?.(this.early.build, email);
      };
      outcome = { result: await buildIssue(this.options.issue, { ...this.options.build, onEmail }) };
    } catch (err) {
      outcome = { error: err instanceof Error ? err : new Error(String(err)) };
    }
    const ms = performance.now() - started;
    const at = new Date();
    this.building = false;
    this.early = undefined;
    if (this.count === 0 && 'error' in outcome && outcome.error instanceof NewsletterError && outcome.error.code === 'EISSUE_NOT_FOUND') {
      this.fatal = outcome.error;
      return;
    }
    const build = ++this.count;
    this.latest = { ms, at };
    if ('result' in outcome) {
      this.lastGood = { build, result: outcome.result, ms, at, sources: this.readSources() };
      this.lastError = undefined;
      if (!this.closed) this.options.onBuilt(this.lastGood, because);
    } else {
      this.lastError = { build, error: outcome.error, ms, at, sources: this.readSources() };
      if (!this.closed) this.options.onFailed(this.lastError, because);
    }
  }
}
