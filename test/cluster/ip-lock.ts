/**
 * Loopback IP allocation across processes: one lock file per IP in /tmp/swarm-test-ips,
 * created exclusively and holding the owner PID. Locks of dead owners are reclaimed.
 */
import { mkdirSync, openSync, writeSync, closeSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, leftovers, portIsFree } from './proc.ts';

export const LOCK_DIR = '/tmp/swarm-test-ips';
/** Range for engines the kit allocates itself (reuse:false and fallbacks). */
export const DYNAMIC_RANGE = { first: 100, last: 199 };

function lockPath(ip: string): string {
  return join(LOCK_DIR, ip);
}

/** Takes the lock for `ip` if it is free (or its owner is dead). Never blocks. */
export function tryLockIp(ip: string): boolean {
  mkdirSync(LOCK_DIR, { recursive: true });
  const file = lockPath(ip);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      leftovers.files.add(file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = 0;
    try {
      owner = Number(readFileSync(file, 'utf8').trim());
    } catch {
      continue; // removed meanwhile: try again
    }
    // An empty file means the owner is between open and write; treat it as taken.
    if (!owner || isAlive(owner)) return false;
    try {
      unlinkSync(file); // stale: its owner died without cleaning up
    } catch {
      /* another process reclaimed it first; the retry decides */
    }
  }
  return false;
}

export function unlockIp(ip: string): void {
  const file = lockPath(ip);
  try {
    if (Number(readFileSync(file, 'utf8').trim()) === process.pid) unlinkSync(file);
  } catch {
    /* already gone */
  }
  leftovers.files.delete(file);
}

/**
 * Returns an IP we now own, on which `port` is free: the preferred one if possible,
 * else the first free one of the dynamic range.
 */
export async function allocateIp(port: number, preferred?: string): Promise<string> {
  const candidates: string[] = [];
  if (preferred) candidates.push(preferred);
  for (let i = DYNAMIC_RANGE.first; i <= DYNAMIC_RANGE.last; i++) candidates.push(`127.0.0.${i}`);
  for (const ip of candidates) {
    if (!tryLockIp(ip)) continue;
    if (await portIsFree(ip, port)) return ip;
    unlockIp(ip); // something outside the kit listens there: leave it alone
  }
  throw new Error(`no free loopback IP for a test engine (port ${port}) in 127.0.0.${DYNAMIC_RANGE.first}-${DYNAMIC_RANGE.last}`);
}
