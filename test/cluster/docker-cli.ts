/** Runs the real docker CLI against a host, isolated from the user's config and env. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DOCKER_BIN } from './busybox.ts';
import { runDir } from './proc.ts';

export interface DockerCliOptions {
  stdin?: string | Buffer;
  env?: Record<string, string>;
  /** ms; default 120 s. On timeout the CLI is killed and code is -1. */
  timeout?: number;
  cwd?: string;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function dockerCli(host: string, args: string[], opts: DockerCliOptions = {}): Promise<CliResult> {
  return runClient(DOCKER_BIN, host, args, opts);
}

/** docker-compose (Debian 1.29, the Python one) against `host`; pass `cwd` or `-f` for the file. */
export function composeCli(host: string, args: string[], opts: DockerCliOptions = {}): Promise<CliResult> {
  return runClient('docker-compose', host, args, { ...opts, env: { COMPOSE_INTERACTIVE_NO_CLI: '1', ...opts.env } });
}

function runClient(bin: string, host: string, args: string[], opts: DockerCliOptions): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('DOCKER_')) env[k] = v; // no DOCKER_HOST/TLS leaking in
  }
  const config = mkdtempSync(join(runDir('docker-config'), 'c-'));
  Object.assign(env, { DOCKER_HOST: host, DOCKER_CONFIG: config, DOCKER_CLI_HINTS: 'false' }, opts.env ?? {});
  return new Promise((resolve) => {
    const child = spawn(bin, args, { env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      stderr += `\n[dockerCli] timed out after ${opts.timeout ?? 120_000} ms: ${bin} ${args.join(' ')}\n`;
      child.kill('SIGKILL');
    }, opts.timeout ?? 120_000);
    child.on('error', (err) => (stderr += `\n[dockerCli] ${err.message}\n`));
    child.on('close', (code) => {
      clearTimeout(timer);
      rmSync(config, { recursive: true, force: true });
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // the CLI may exit before reading stdin; its exit code tells
    if (opts.stdin !== undefined) child.stdin.end(opts.stdin);
    else child.stdin.end();
  });
}
