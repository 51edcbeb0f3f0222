import type { PartResult, RunContext, TargetDef } from './types.ts';

/** Thrown by a part whose prerequisite is missing (module not written yet, server not installed). */
export class NotRunError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'NotRunError';
  }
}

export interface BenchPart {
  name: string;
  title: string;
  /** Every target this part is responsible for (reported as not met if the part cannot run). */
  targets: TargetDef[];
  run(ctx: RunContext): Promise<Omit<PartResult, 'part' | 'title' | 'durationMs'>>;
}

/**
 * Import a module another engineer owns, turning "not there yet" into a NotRunError with the
 * path, so the report says what is missing instead of crashing.
 */
export async function importOrNotRun<T>(url: URL, what: string): Promise<T> {
  try {
    return (await import(url.href)) as T;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_MODULE_NOT_FOUND' || /Cannot find module/.test(e.message)) {
      throw new NotRunError(`${what} is not available (${e.message.split('\n')[0]})`);
    }
    throw new NotRunError(`${what} failed to load: ${e.message.split('\n')[0]}`);
  }
}

/** Throw NotRunError when `value` lacks a function export. */
export function requireExport<T>(mod: Record<string, unknown>, name: string, what: string): T {
  const v = mod[name];
  if (typeof v !== 'function') throw new NotRunError(`${what} does not export ${name}() yet`);
  return v as T;
}
