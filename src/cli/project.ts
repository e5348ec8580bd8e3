/**
 * Where the project is: the folder holding newsletter.config.yaml, found by walking up
 * from the folder the user is in (or given by --config), so build-issue works from any
 * folder of the project. Paths the user types stay relative to where they are.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_FILE } from '../config.js';
import { NewsletterError } from '../errors.js';

export interface Project {
  /** The project root: the folder holding the config. issues/, templates/, dist/, sends/ and .env are here. */
  root: string;
  /** The config file (absolute). */
  configFile: string;
  /** The folder the user is in. */
  cwd: string;
}

const isFile = (f: string) => {
  try {
    return statSync(f).isFile();
  } catch {
    return false;
  }
};

/**
 * The project for a command run in `cwd`. With `configOption` (--config), that file (or that
 * folder's newsletter.config.yaml); without, the nearest newsletter.config.yaml in `cwd` or a
 * folder above it. The walk stops at the filesystem root, and at the top of a git repository
 * (a folder holding .git): a config above the repository belongs to something else.
 */
export function findProject(cwd: string, configOption?: string): Project {
  if (configOption !== undefined) {
    const given = path.resolve(cwd, configOption);
    let file = given;
    try {
      if (statSync(given).isDirectory()) file = path.join(given, CONFIG_FILE);
    } catch {
      // Not there: said below.
    }
    if (!isFile(file)) {
      throw new NewsletterError('ECONFIG', `--config ${configOption}: no such file${file !== given ? ` (looked for ${file})` : ` (${given})`}`, {
        hint: `Give the path to your ${CONFIG_FILE}, from the folder you are in, or leave --config out to find it from here.`,
      });
    }
    return { root: path.dirname(file), configFile: file, cwd };
  }
  let dir = path.resolve(cwd);
  for (;;) {
    const file = path.join(dir, CONFIG_FILE);
    if (isFile(file)) return { root: dir, configFile: file, cwd };
    const parent = path.dirname(dir);
    const gitTop = existsSync(path.join(dir, '.git'));
    if (gitTop || parent === dir) {
      const looked = `looked from ${path.resolve(cwd)} up to ${dir}${gitTop ? ' (the top of its git repository)' : ''}`;
      throw new NewsletterError('ECONFIG', `no ${CONFIG_FILE} found: ${looked}`, {
        hint: `Run build-issue in the newsletter project (the folder holding ${CONFIG_FILE}, or any folder inside it), or pass --config <file>.`,
      });
    }
    dir = parent;
  }
}

/**
 * The issue argument for the library, which reads it from the project root: a name stays a
 * name; a path (to a .yaml file) typed from a sub-folder is made relative to the root.
 */
export function issueArg(issue: string, project: Project): string {
  const isPath = /\.ya?ml$/i.test(issue) || issue.includes('/') || issue.includes(path.sep);
  if (!isPath || project.cwd === project.root) return issue;
  return path.relative(project.root, path.resolve(project.cwd, issue)) || issue;
}
