// Bad flags, values, config files and unusable listen or discovery addresses, table-driven: every
// one is a single line on stderr and exit code 1 — no stack trace, no process left running.
// The CLI runs as a user runs it (core/cli/bin.js), in an empty project directory per row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BIN = resolve(import.meta.dirname, 'bin.js');
/** A row whose process is still running after this long failed (e.g. a manager that started anyway). */
const EXIT_WITHIN_MS = 20_000;

interface Row {
  what: string;
  args: (dir: string) => string[];
  /** Files written into the row's project directory first. */
  files?: Record<string, string>;
  stderr: RegExp | ((dir: string) => RegExp);
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['SWARM_HOST', 'SWARM_DISCOVERY', 'SWARM_ADVERTISE', 'SWARM_DISCOVERY_URL', 'DEBUG']) delete env[k];
  return env;
}

function run(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string; killed: boolean }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, EXIT_WITHIN_MS);
    child.on('close', (code) => { clearTimeout(timer); resolveRun({ code, stdout, stderr, killed }); });
  });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function rows(busyPort: number): Row[] {
  const nodesFile = { 'nodes.txt': '127.0.0.1:1\n' };
  return [
    // Durations past Node's longest timer fired after 1 ms: --heartbeat 1000h made file discovery
    // poll (and join re-register) in a busy loop, and list --timeout 9999h never timed out.
    { what: 'manage --heartbeat 1000h', files: nodesFile, args: (d) => ['manage', '-H', '127.0.0.1:0', '--heartbeat', '1000h', `file://${d}/nodes.txt`], stderr: /^invalid --heartbeat: "1000h" is too long \(at most 596h31m23\.647s\)$/ },
    { what: 'join --heartbeat 1000h', args: () => ['join', '--advertise', '127.0.0.1:2375', '--heartbeat', '1000h', '--ttl', '2000h', 'nodes://127.0.0.1:2375'], stderr: /^invalid --heartbeat: "1000h" is too long/ },
    { what: 'list --timeout 9999h', args: () => ['list', '--timeout', '9999h', 'nodes://127.0.0.1:1'], stderr: /^invalid --timeout: "9999h" is too long/ },
    // A huge discovery range was expanded in one go: the process hung for minutes, taking gigabytes.
    { what: 'a discovery range of 10^8 entries', args: () => ['list', '--timeout', '2s', 'nodes://127.0.0.1:[1:99999999]'], stderr: /^range \[1:99999999\] in "127\.0\.0\.1:\[1:99999999\]" has 99999999 entries, at most 65536$/ },
    { what: 'manage --engine-refresh-min-interval 700h', args: () => ['manage', '-H', '127.0.0.1:0', '--engine-refresh-min-interval', '700h', '--engine-refresh-max-interval', '800h', 'nodes://127.0.0.1:1'], stderr: /^invalid --engine-refresh-min-interval: "700h" is too long/ },
    // Config files that fail to load lost their reason ("TypeScriptLoader failed to compile TypeScript:" and nothing).
    { what: 'a swarm.config.ts that throws', files: { 'swarm.config.ts': "throw new Error('boom in config');\n" }, args: () => ['list', 'nodes://127.0.0.1:1'], stderr: (d) => new RegExp(`^cannot load config file ${escape(d)}/swarm\\.config\\.ts: boom in config$`) },
    { what: 'a config with a syntax error', files: { 'bad.config.ts': 'export default {\n' }, args: () => ['--config', 'bad.config.ts', 'list', 'nodes://127.0.0.1:1'], stderr: (d) => new RegExp(`^cannot load config file ${escape(d)}/bad\\.config\\.ts: .*${escape(d)}/bad\\.config\\.ts:\\d+:\\d+`) },
    // An ESM swarm.config.ts (the documented `export default`) in a package.json without
    // "type": "module" did not load at all: "Cannot require() ES Module … in a cycle". Its bad
    // strategy shows it is read now.
    { what: 'an ESM config in a CommonJS project', files: { 'swarm.config.ts': "export default { manage: { strategy: 'nope' } };\n" }, args: () => ['manage', '-H', '127.0.0.1:0', 'nodes://127.0.0.1:1'], stderr: /^strategy not supported: "nope"$/ },
    { what: 'a .swarmrc.json that is not JSON', files: { '.swarmrc.json': '{ bad json\n' }, args: () => ['list', 'nodes://127.0.0.1:1'], stderr: /^cannot load config file .*\/\.swarmrc\.json: Expected property name or '}' in JSON at position 2/ },
    // Options a discovery plugin does not know were silently ignored (it takes heartbeat and ttl).
    { what: 'an unknown option of a discovery plugin', files: { '.swarmrc.json': '{"plugins":[["etcd",{"heartbeet":"20s"}]]}' }, args: () => ['list', '--timeout', '2s', 'nodes://127.0.0.1:1'], stderr: /^plugin etcd failed to load \(config: .*\.swarmrc\.json\): invalid options at \/heartbeet: Unexpected property$/ },
    { what: 'a bad heartbeat option of a discovery plugin', files: { '.swarmrc.json': '{"plugins":[["etcd",{"heartbeat":"20 parsecs"}]]}' }, args: () => ['list', '--timeout', '2s', 'nodes://127.0.0.1:1'], stderr: /^plugin etcd failed to load \(config: .*\.swarmrc\.json\): invalid heartbeat: time: invalid duration "20 parsecs"$/ },
    { what: 'options to a discovery plugin that takes none', files: { '.swarmrc.json': '{"plugins":[["nodes",{"heartbeat":"20s"}]]}' }, args: () => ['list', '--timeout', '2s', 'nodes://127.0.0.1:1'], stderr: /^plugin nodes failed to load \(config: .*\.swarmrc\.json\): takes no options \(got \{"heartbeat":"20s"\}\)/ },
    { what: 'a config that throws a string', files: { 'swarm.config.ts': "throw 'not an error';\n" }, args: () => ['list', 'nodes://127.0.0.1:1'], stderr: /^cannot load config file .*: the config file threw "not an error"$/ },

    // Already one line before this audit: kept as a regression table.
    { what: 'unknown flag', args: () => ['manage', '--bogus', 'x'], stderr: /^error: unknown option '--bogus'$/ },
    { what: 'bad --strategy', args: () => ['manage', '--strategy', 'nope', 'nodes://127.0.0.1:1'], stderr: /^strategy not supported: "nope"$/ },
    { what: 'bad --filter', args: () => ['manage', '-f', 'nope', 'nodes://127.0.0.1:1'], stderr: /^filter not supported: "nope"$/ },
    { what: 'bad discovery scheme', args: () => ['manage', '-H', '127.0.0.1:0', 'foo://x'], stderr: /^discovery service not supported: unknown discovery scheme "foo"/ },
    { what: 'discovery entry without a port', args: () => ['list', 'nodes://127.0.0.1'], stderr: /missing port in address, please check you are using the correct discovery/ },
    { what: 'unreachable consul', args: () => ['list', '--timeout', '3s', 'consul://127.0.0.1:1/x'], stderr: /^consul 127\.0\.0\.1:1: .*ECONNREFUSED/ },
    { what: 'missing TLS files', args: () => ['manage', '-H', '127.0.0.1:0', '--tlsverify', '--tlscacert', '/nonexistent/ca.pem', '--tlscert', '/nonexistent/cert.pem', '--tlskey', '/nonexistent/key.pem', 'nodes://127.0.0.1:1'], stderr: /^Couldn't load X509 key pair \(\/nonexistent\/cert\.pem, \/nonexistent\/key\.pem\): ENOENT/ },
    { what: 'bad --heartbeat', args: () => ['manage', '--heartbeat', 'abc', 'nodes://127.0.0.1:1'], stderr: /^invalid --heartbeat: time: invalid duration "abc"$/ },
    { what: '--ttl not above --heartbeat', args: () => ['join', '--advertise', '127.0.0.1:2375', '--heartbeat', '10s', '--ttl', '5s', 'nodes://127.0.0.1:1'], stderr: /^--ttl must be strictly superior to the heartbeat value$/ },
    { what: 'bad --host', args: () => ['manage', '-H', 'bogus', 'nodes://127.0.0.1:1'], stderr: /^invalid listen address: "bogus" \(expected ip:port\)$/ },
    { what: 'bad --host scheme', args: () => ['manage', '-H', 'http://127.0.0.1:0', 'nodes://127.0.0.1:1'], stderr: /^unsupported protocol: "http"$/ },
    { what: 'port in use', args: () => ['manage', '-H', `127.0.0.1:${busyPort}`, 'nodes://127.0.0.1:1'], stderr: new RegExp(`^listen tcp 127\\.0\\.0\\.1:${busyPort}: bind: address already in use$`) },
    { what: 'config exporting a number', files: { 'swarm.config.ts': 'export default 42;\n' }, args: () => ['list', 'nodes://127.0.0.1:1'], stderr: /^invalid config \(config: .*swarm\.config\.ts\): expected an object$/ },
    { what: 'config naming an unknown plugin', files: { 'swarm.config.ts': "export default { plugins: ['nope-plugin'] };\n" }, args: () => ['manage', '-H', '127.0.0.1:0', 'nodes://127.0.0.1:1'], stderr: /^unknown plugin "nope-plugin" \(config: .*\): not a built-in/ },
    { what: 'config naming a package that is not installed', files: { 'swarm.config.ts': "export default { plugins: ['swarm-plugin-filter-notinstalled'] };\n" }, args: () => ['manage', '-H', '127.0.0.1:0', 'nodes://127.0.0.1:1'], stderr: /^unknown plugin "swarm-plugin-filter-notinstalled" \(config: .*\): .*not an npm package installed from/ },
    { what: 'create with an argument', args: () => ['create', 'extra'], stderr: /^the `create` command takes no arguments\. See 'swarm create --help'\.$/ },
    { what: 'help for an unknown command', args: () => ['help', 'nope'], stderr: /^No help topic for 'nope'$/ },
  ];
}

test('bad CLI input: one line on stderr, exit code 1, nothing left running', { timeout: 10 * 60_000 }, async () => {
  const busy = net.createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const busyPort = (busy.address() as net.AddressInfo).port;
  const problems: string[] = [];
  try {
    for (const row of rows(busyPort)) {
      const dir = mkdtempSync(join(tmpdir(), 'swarm-bad-'));
      try {
        writeFileSync(join(dir, 'package.json'), '{"name":"p","private":true}'); // the config search stops here
        for (const [name, text] of Object.entries(row.files ?? {})) writeFileSync(join(dir, name), text);
        const r = await run(row.args(dir), dir);
        const expected = typeof row.stderr === 'function' ? row.stderr(dir) : row.stderr;
        const line = r.stderr.replace(/\n$/, '');
        const why = r.killed ? `still running after ${EXIT_WITHIN_MS / 1000}s`
          : r.code !== 1 ? `exit code ${r.code}`
            : line.includes('\n') ? 'more than one line on stderr'
              : /\n\s+at |node:internal|\.ts:\d+:\d+\)/.test(r.stderr) ? 'a stack trace'
                : !expected.test(line) ? `stderr ${JSON.stringify(line)} does not match ${expected}` : '';
        if (why) problems.push(`${row.what}: ${why} (stderr: ${JSON.stringify(r.stderr.slice(0, 200))})`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    busy.close();
  }
  assert.deepEqual(problems, []);
});
