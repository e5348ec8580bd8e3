/** The preview server's public types (re-exported by server.ts, where they are documented for users). */
import type { BuildOptions, BuildResult } from '../build-issue.js';
import type { NewsletterError } from '../errors.js';

export interface PreviewOptions {
  /** The project folder: holds newsletter.config.yaml, templates/ and issues/. */
  root: string;
  /** The issue name (`july-2025`) or a path to its .yaml file, relative to `root`. */
  issue: string;
  /** The port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Only 127.0.0.1: the preview is for this machine. */
  host?: '127.0.0.1';
  /** Build options besides `root`. `write` defaults to true, so dist/<slug>/ stays current. */
  build?: Omit<BuildOptions, 'root'>;
  /** Quiet time after a change before rebuilding, in ms. @default 30 */
  debounceMs?: number;
  /**
   * Called for every event from the start, so the first build and `listening` are
   * seen too (`on()` can only be called once startPreview has resolved). Order at
   * start: the first build's `built` or `failed`, then `listening`.
   */
  onEvent?: (event: PreviewEvent) => void;
}

export type PreviewEvent =
  | {
      type: 'built';
      /** The build counter: 1 for the first build, +1 for each build after it, failed ones included. */
      build: number;
      /** Wall-clock time of the build (load, render, check, write), in ms. */
      ms: number;
      result: BuildResult;
      /** The files whose change caused it, relative to root; empty for the first build and `rebuild()`. */
      changed: string[];
    }
  | { type: 'failed'; build: number; ms: number; error: NewsletterError | Error; changed: string[] }
  /** A build's email is made (the page reloads its frames); its `built` or `failed` follows. */
  | { type: 'email'; build: number }
  | { type: 'listening'; url: string };

export interface PreviewState {
  /** Builds finished so far, failed ones included (0 before the first). */
  build: number;
  /** Whether a build is running now. */
  building: boolean;
  /** The last good build: what the page shows. */
  result?: BuildResult;
  /** The build counter of `result`. */
  resultBuild?: number;
  /** Set when the latest build failed (the page shows it above the last good email). */
  error?: NewsletterError | Error;
  /** Wall-clock ms of the latest build, good or failed. */
  ms?: number;
  /** When the latest build finished. */
  at?: Date;
}

export interface PreviewServer {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  port: number;
  /** What is watched: folders (and the files in them that count), relative to root. */
  watching: string[];
  /** Stop watching, end every connection (event streams included), wait for a running build, close the server. */
  close(): Promise<void>;
  /** Build now (no debounce). Resolves when a build that started after this call has finished; never rejects for a build error. */
  rebuild(): Promise<void>;
  /** Listen to events; returns a function that stops listening. */
  on(listener: (e: PreviewEvent) => void): () => void;
  /** The last state. */
  state(): PreviewState;
}
