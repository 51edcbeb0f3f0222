// `file:///path`: one entry per line, re-read every heartbeat and as soon as the file changes.
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import type { SwarmPlugin } from '../../core/plugin.ts';
import type { DiscoveryBackend, DiscoveryOptions, DiscoveryUrl } from '../../core/types.ts';
import {
  ERR_NOT_IMPLEMENTED, dedupe, discoveryError, errText, parseFileContent, sameList, timedDiscoveryPlugin, type TimingOptions
} from '../discovery-common/index.ts';

export const NAME = 'discovery-file';
export const SCHEME = 'file';

/** Legacy read error text. */
export const ERR_READ = (path: string, why: string) => `failed to read '${path}': ${why}`;

/**
 * Node's `ENOENT: no such file or directory, open '/x'` in Go's words (`open /x: no such file or
 * directory`), so the message reads as the legacy one did.
 */
export function goErrorText(err: unknown, path: string): string {
  const e = err as NodeJS.ErrnoException;
  const m = /^[A-Z]+: (.*?), \w+/.exec(e?.message ?? '');
  return e?.syscall && m ? `${e.syscall} ${path}: ${m[1]}` : errText(err);
}

/** Read and parse the file once; throws one-line errors (read failure or invalid entry). */
export async function readEntries(path: string): Promise<string[]> {
  let content: string;
  try {
    content = await readFile(path, 'utf8');
  } catch (err) {
    throw discoveryError(ERR_READ(path, goErrorText(err, path)), err);
  }
  try {
    return dedupe(parseFileContent(content));
  } catch (err) {
    throw discoveryError(`${path}: ${errText(err)}`, err);
  }
}

export function createFileBackend(url: DiscoveryUrl, options: DiscoveryOptions, logger: Logger): DiscoveryBackend {
  const path = url.rest;
  if (path === '') throw discoveryError(`invalid discovery URL "${url.raw}": missing file path`);
  return {
    async *watch(signal) {
      let last: string[] | undefined;
      let lastError = '';
      // fs.watch on the directory also sees editors that replace the file (rename over it).
      let wake: (() => void) | undefined;
      let watcher: FSWatcher | undefined;
      try {
        watcher = fsWatch(dirname(path), { persistent: false }, (_event, name) => {
          if (name === null || name === basename(path)) wake?.();
        });
        watcher.on('error', () => { watcher?.close(); watcher = undefined; }); // polling still covers it
      } catch {
        watcher = undefined; // directory missing: the heartbeat poll alone picks the file up later
      }
      const onAbort = () => wake?.();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        while (!signal.aborted) {
          try {
            const list = await readEntries(path);
            lastError = '';
            if (!sameList(last, list)) {
              last = list;
              yield list;
            }
          } catch (err) {
            if (options.failFast) throw err;
            // Legacy: logged, the last list stays, the watch goes on. Logged once per distinct error.
            const text = errText(err);
            if (text !== lastError) logger.error(text);
            lastError = text;
          }
          if (signal.aborted) break;
          await new Promise<void>((resolve) => {
            const t = setTimeout(done, options.heartbeat);
            function done() { clearTimeout(t); wake = undefined; resolve(); }
            wake = done;
          });
        }
      } finally {
        signal.removeEventListener('abort', onAbort);
        watcher?.close();
      }
    },
    async register() {
      throw discoveryError(ERR_NOT_IMPLEMENTED);
    },
    async close() {},
  };
}

/** Options: `heartbeat` and `ttl` (e.g. `file({ heartbeat: '20s', ttl: '60s' })`), used where no flag or config section sets them. */
export default function file(options?: Partial<TimingOptions>): SwarmPlugin {
  return timedDiscoveryPlugin(NAME, SCHEME, options, createFileBackend);
}
