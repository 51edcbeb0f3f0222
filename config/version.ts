import { readFileSync } from 'node:fs';

/** swarm's own version, from package.json: what `--version` prints and plugin peer ranges must match. */
export const SWARM_VERSION: string = (JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { version: string }).version;

/** Legacy `GITCOMMIT`: injected at build time in the original; `HEAD` when not built from a tag. */
export const GIT_COMMIT: string = process.env.SWARM_GIT_COMMIT || 'HEAD';
