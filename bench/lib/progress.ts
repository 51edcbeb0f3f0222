import type { Progress } from './types.ts';

/**
 * A one-line progress display on stderr: `[part] label  ███░░░ 42/100  12s`. On a terminal the
 * line is redrawn in place (at most 10 times a second); otherwise (CI logs) a line is printed at
 * each step and every 10% so the log stays short.
 */
export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress & { part(name: string): void } {
  const tty = Boolean(stream.isTTY);
  let part = '';
  let label = '';
  let total = 0;
  let done = 0;
  let started = Date.now();
  let lastDraw = 0;
  let lastDecile = -1;
  let drawn = false;

  const line = (): string => {
    const secs = ((Date.now() - started) / 1000).toFixed(0);
    let bar = '';
    if (total > 0) {
      const width = 24;
      const filled = Math.min(width, Math.round((done / total) * width));
      bar = ` ${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${done}/${total}`;
    }
    return `[${part}] ${label}${bar}  ${secs}s`;
  };

  const draw = (force = false): void => {
    const now = Date.now();
    if (tty) {
      if (!force && now - lastDraw < 100) return;
      lastDraw = now;
      const cols = stream.columns || 120;
      stream.write(`\r\x1b[2K${line().slice(0, cols - 1)}`);
      drawn = true;
    } else if (total > 0) {
      const decile = Math.floor((done / total) * 10);
      if (force || decile !== lastDecile) {
        lastDecile = decile;
        stream.write(`${line()}\n`);
      }
    } else if (force) {
      stream.write(`${line()}\n`);
    }
  };

  const clear = (): void => {
    if (tty && drawn) stream.write('\r\x1b[2K');
    drawn = false;
  };

  return {
    part(name) {
      part = name;
    },
    step(l, t = 0) {
      label = l;
      total = t;
      done = 0;
      started = Date.now();
      lastDecile = -1;
      draw(true);
    },
    tick(n = 1) {
      done += n;
      draw();
    },
    set(d) {
      done = d;
      draw();
    },
    log(text) {
      clear();
      stream.write(`[${part}] ${text}\n`);
      draw(true);
    },
    done() {
      clear();
    },
  };
}
