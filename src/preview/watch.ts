/**
 * What the preview watches, and how: the issue file, the pictures under issues/assets/,
 * the templates and the config. Each change is reported as an absolute file (or folder)
 * path; the caller debounces.
 */
import { readdirSync, watch, type Dirent, type FSWatcher } from 'node:fs';
import path from 'node:path';

/** Editors' temporary and backup files: never a reason to rebuild. */
export function isNoise(name: string): boolean {
  const base = path.basename(name);
  return base.startsWith('.') || base.endsWith('~') || /\.(sw[a-p]|tmp|bak)$/i.test(base) || base === '4913';
}

/**
 * Watches a folder, and with `recursive` each folder under it, one fs.watch per folder
 * (inotify on a folder reports changes to the files in it, renames included, so an
 * editor's atomic save is seen). Tolerates the folder not existing: `sync()` again
 * when it may have appeared.
 */
export class FolderWatch {
  private readonly watchers = new Map<string, FSWatcher>();
  private closed = false;

  constructor(
    readonly top: string,
    private readonly recursive: boolean,
    private readonly onChange: (rel: string | null) => void,
  ) {}

  sync(): void {
    if (this.closed) return;
    const dirs = new Set<string>();
    const walk = (dir: string) => {
      let entries: Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      dirs.add(dir);
      if (!this.recursive) return;
      for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') walk(path.join(dir, e.name));
    };
    walk(this.top);
    for (const [dir, w] of this.watchers) {
      if (!dirs.has(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of dirs) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: true }, (type, name) => this.fire(dir, type, name));
        w.on('error', () => {
          // The folder went away (deleted or renamed): forget it, and look again.
          w.close();
          if (this.watchers.get(dir) === w) this.watchers.delete(dir);
          this.sync();
        });
        this.watchers.set(dir, w);
      } catch {
        // Gone between readdir and watch: the next sync finds it or not.
      }
    }
  }

  private fire(dir: string, type: string, name: string | Buffer | null): void {
    if (this.closed) return;
    if (type === 'rename' && this.recursive) this.sync(); // a folder may have appeared or gone
    this.onChange(name == null ? null : path.relative(this.top, path.join(dir, name.toString())));
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}

export interface ProjectWatch {
  /** What is watched: folders (and the files in them that count), relative to root. */
  watching: string[];
  close(): void;
}

/**
 * Watch what a build of `issueFile` reads: the issue's folder (the issue file only), the
 * pictures (all of issues/assets/: an issue made --from last month's keeps pictures in
 * last month's folder), the templates, and the config's folder (the config only).
 * `onChange` gets the absolute path of what changed (a folder when the name is unknown).
 */
export function watchProject(
  files: { root: string; issueFile: string; templatesDir: string; configFile: string },
  onChange: (file: string) => void,
): ProjectWatch {
  const { root, issueFile, templatesDir, configFile } = files;
  const rel = (f: string) => path.relative(root, f) || f;
  const relDir = (d: string) => `${path.relative(root, d) || '.'}/`;
  const issueDir = path.dirname(issueFile);
  const assetsDir = path.join(issueDir, 'assets');
  const configDir = path.dirname(configFile);
  const assets = new FolderWatch(assetsDir, true, (r) => (r === null || !isNoise(r)) && onChange(r === null ? assetsDir : path.join(assetsDir, r)));
  const templates = new FolderWatch(templatesDir, true, (r) => (r === null || !isNoise(r)) && onChange(r === null ? templatesDir : path.join(templatesDir, r)));
  const issueFolder = new FolderWatch(issueDir, false, (r) => {
    if (r === null || r === path.basename(issueFile)) onChange(issueFile);
    if (r === 'assets') {
      assets.sync();
      onChange(assetsDir);
    }
  });
  const configFolder = new FolderWatch(configDir, false, (r) => {
    if (r === null || r === path.basename(configFile)) onChange(configFile);
    if (r !== null && path.join(configDir, r) === templatesDir) {
      templates.sync(); // the templates folder itself was replaced
      onChange(templatesDir);
    }
  });
  const folders = [issueFolder, assets, templates, configFolder];
  for (const f of folders) f.sync();
  return {
    watching: [
      `${rel(issueFile)} (in ${relDir(issueDir)})`,
      `${relDir(assetsDir)} and below`,
      `${relDir(templatesDir)} and below`,
      `${rel(configFile)} (in ${relDir(configDir)})`,
    ],
    close: () => {
      for (const f of folders) f.close();
    },
  };
}
