// The CLI as a user runs it: a child process of core/cli/bin.js, checked on stdout, stderr and
// the exit code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BIN = resolve(import.meta.dirname, 'bin.js');
const LOCAL = resolve(import.meta.dirname, '../../test/fixtures/local-plugins');

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Environment without the variables the CLI reads, so the host's settings do not leak in. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['SWARM_HOST', 'SWARM_DISCOVERY', 'SWARM_ADVERTISE', 'SWARM_DISCOVERY_URL', 'DEBUG']) delete env[k];
  return { ...env, ...extra };
}

/** An empty project directory (its package.json stops the config search there). */
function emptyDir(t: { after(fn: () => void): void }, config?: object): string {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'package.json'), '{"name":"p","private":true}');
  if (config) writeFileSync(join(dir, '.swarmrc.json'), JSON.stringify(config));
  return dir;
}

function start(args: string[], opts: { cwd: string; env?: Record<string, string> }) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: cleanEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const done = new Promise<Run>((res) => child.on('close', (code, signal) => res({ code, signal, stdout, stderr })));
  return { child, done, out: () => stdout };
}

function swarm(args: string[], cwd: string, env?: Record<string, string>): Promise<Run> {
  return start(args, { cwd, ...(env ? { env } : {}) }).done;
}

/** Wait until `check` holds, polling the child's output; fails the test if the child exits first. */
async function until(check: () => boolean, what: string, exited: Promise<Run>): Promise<void> {
  let gone = false;
  void exited.then(() => { gone = true; });
  while (!check()) {
    if (gone) throw new Error(`the process exited before: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('--version and -v print the legacy version line', async (t) => {
  const dir = emptyDir(t);
  for (const flag of ['--version', '-v']) {
    const r = await swarm([flag], dir);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '1.2.9 (HEAD)\n');
  }
});

test('--help lists the commands with their short names and the usage line', async (t) => {
  const r = await swarm(['--help'], emptyDir(t));
  assert.equal(r.code, 0);
  assert.match(r.stdout, /A Docker-native clustering system/);
  const listed = [...r.stdout.matchAll(/^ {2}(\w+, \w)\s/gm)].map((m) => m[1]);
  assert.deepEqual(listed, ['create, c', 'list, l', 'manage, m', 'join, j', 'help, h']);
});

test('no command prints the help and succeeds; an unknown command fails', async (t) => {
  const dir = emptyDir(t);
  const r = await swarm([], dir);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: swarm/);
  const bad = await swarm(['bogus'], dir);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, "error: unknown command 'bogus'\n");
});

test('help manage (and h m) lists every manage flag', async (t) => {
  const dir = emptyDir(t);
  for (const args of [['help', 'manage'], ['h', 'm'], ['manage', '--help']]) {
    const r = await swarm(args, dir);
    assert.equal(r.code, 0, args.join(' '));
    for (const flag of ['--strategy', '--filter', '--host', '--replication', '--replication-ttl', '--advertise', '--tls', '--tlsverify',
      '--tlscacert', '--tlscert', '--tlskey', '--engine-refresh-min-interval', '--engine-refresh-max-interval', '--engine-failure-retry',
      '--engine-refresh-retry', '--heartbeat', '--api-enable-cors', '--cluster-driver', '--cluster-opt', '--discovery-opt',
      '--refresh-on-node-filter', '--container-name-refresh-filter', '--engine-tls', '--no-engine-tls', '--engine-tlsverify',
      '--engine-tlscacert', '--engine-tlscert', '--engine-tlskey', '--engine-timeout', '--api-body-limit']) {
      assert.ok(r.stdout.includes(flag), `${args.join(' ')}: ${flag} missing`);
    }
    assert.match(r.stdout, /default: tcp:\/\/127\.0\.0\.1:2375, env: SWARM_HOST/);
  }
});

const INVALID: [string[], string][] = [
  [['manage'], "discovery required to manage a cluster. See 'swarm manage --help'."],
  [['join', '--advertise', '127.0.0.1:2375'], "discovery required to join a cluster. See 'swarm join --help'."],
  [['manage', '--replication', 'etcd://127.0.0.1:2379'], '--advertise address must be provided when using --leader-election'],
  [['manage', '--replication', '--advertise', '1.2.3.4ab:x', 'etcd://127.0.0.1:2379'], '--advertise should be of the form ip:port or hostname:port'],
  [['manage', '--replication', '--advertise', '127.0.0.1:99999', 'etcd://127.0.0.1:2379'], '--advertise should be of the form ip:port or hostname:port'],
  [['manage', '--replication', '--advertise', '127.0.0.1:4000', '--replication-ttl', '0s', 'etcd://127.0.0.1:2379'], '--replication-ttl should be a positive number'],
  [['manage', '--replication', '--advertise', '127.0.0.1:4000', '--replication-ttl', 'soon', 'etcd://127.0.0.1:2379'], 'invalid --replication-ttl: time: invalid duration "soon"'],
  [['manage', '--replication', '--advertise', '127.0.0.1:4000', 'nodes://127.0.0.1:2375'], 'Leader election is only supported with consul, etcd and zookeeper discovery.'],
  [['manage', '--engine-refresh-retry', '4', 'nodes://127.0.0.1:2375'], '--engine-refresh-retry is deprecated. Use --engine-failure-retry'],
  [['manage', '--engine-failure-retry', '0', 'nodes://127.0.0.1:2375'], 'invalid failure retry count'],
  [['manage', '--engine-refresh-min-interval', '0s', 'nodes://127.0.0.1:2375'], 'min refresh interval should be a positive number'],
  [['manage', '--engine-refresh-min-interval', '70s', 'nodes://127.0.0.1:2375'], 'max refresh interval cannot be less than min refresh interval'],
  [['manage', '--heartbeat', '500ms', 'nodes://127.0.0.1:2375'], '--heartbeat should be at least one second'],
  [['manage', '--heartbeat', '1x', 'nodes://127.0.0.1:2375'], 'invalid --heartbeat: time: invalid duration "1x"'],
  [['manage', '--discovery-opt', 'kv.path', 'nodes://127.0.0.1:2375'], '--discovery-opt must contain key=value strings'],
  [['manage', '--cluster-opt', 'swarm.overcommit=-1', 'nodes://127.0.0.1:2375'], 'swarm.overcommit should be larger than -1, -1.000000 is invalid'],
  [['manage', '--cluster-opt', 'swarm.createretry=-2', 'nodes://127.0.0.1:2375'], 'swarm.createretry can not be negative, -2 is invalid'],
  [['manage', '-c', 'mesos-experimental', 'nodes://127.0.0.1:2375'], 'unsupported cluster "mesos-experimental"'],
  [['manage', '--tls', 'nodes://127.0.0.1:2375'], '--tlscert and --tlskey must be provided when using --tls'],
  [['manage', '--tlsverify', '--tlscert', 'c.pem', '--tlskey', 'k.pem', 'nodes://127.0.0.1:2375'], '--tlscacert must be provided when using --tlsverify'],
  [['manage', '--tlscacert', 'ca.pem', 'nodes://127.0.0.1:2375'], '--tlscert, --tlskey and --tlscacert require the use of either --tls or --tlsverify'],
  [['manage', '-H', 'udp://127.0.0.1:4000', 'nodes://127.0.0.1:2375'], 'unsupported protocol: "udp"'],
  [['manage', '--engine-tlsverify', 'nodes://127.0.0.1:2375'], '--engine-tlscacert must be provided when using --engine-tlsverify'],
  [['manage', '--engine-tlscacert', 'ca.pem', 'nodes://127.0.0.1:2375'], '--engine-tlscert, --engine-tlskey and --engine-tlscacert require the use of either --engine-tls or --engine-tlsverify'],
  [['manage', '--engine-timeout', '0s', 'nodes://127.0.0.1:2375'], '--engine-timeout should be a positive duration'],
  [['manage', '--api-body-limit', '10 parsecs', 'nodes://127.0.0.1:2375'], 'invalid --api-body-limit: "10 parsecs" (expected bytes, or a number with kb, mb or gb)'],
  [['manage', '--strategy', 'fastest', 'nodes://127.0.0.1:2375'], 'strategy not supported: "fastest"'],
  [['manage', '-f', 'health', '-f', 'gpu', 'nodes://127.0.0.1:2375'], 'filter not supported: "gpu"'],
  [['join', 'nodes://127.0.0.1:2375'], 'missing mandatory --advertise flag'],
  [['join', '--advertise', 'engine', 'nodes://127.0.0.1:2375'], '--advertise should be of the form ip:port or hostname:port'],
  [['join', '--advertise', '127.0.0.1:2375', '--heartbeat', '20s', '--ttl', '20s', 'nodes://127.0.0.1:2375'], '--ttl must be strictly superior to the heartbeat value'],
  [['join', '--advertise', '127.0.0.1:2375', '--delay', '-1s', 'nodes://127.0.0.1:2375'], '--delay should not be a negative number'],
  [['join', '--advertise', '127.0.0.1:2375', '--heartbeat', '0s', 'nodes://127.0.0.1:2375'], '--heartbeat should be at least one second'],
  [['list', '--timeout', '0s', 'nodes://127.0.0.1:2375'], '--timeout should be a positive number'],
  [['create', 'extra'], "the `create` command takes no arguments. See 'swarm create --help'."],
  [['-l', 'bogus', 'list', 'nodes://127.0.0.1:2375'], 'not a valid log level: "bogus"'],
];

test('each invalid flag gives the legacy message, one line on stderr, exit code 1', async (t) => {
  const dir = emptyDir(t);
  for (const [args, message] of INVALID) {
    const r = await swarm(args, dir);
    assert.equal(r.code, 1, `${args.join(' ')} → ${r.stderr}`);
    assert.equal(r.stderr, `${message}\n`, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
  }
});

// Go's flag package (the original's urfave/cli) takes `--flag=<bool>` for boolean flags, with
// strconv.ParseBool's values; commander refused every such form as an unknown option.
const BOOL_FORMS: [string[], string][] = [
  [['manage', '--tlsverify=true', 'nodes://127.0.0.1:2375'], '--tlscert and --tlskey must be provided when using --tls'],
  [['manage', '--tls=1', 'nodes://127.0.0.1:2375'], '--tlscert and --tlskey must be provided when using --tls'],
  [['manage', '--tls=false', '--tlscert', 'c.pem', 'nodes://127.0.0.1:2375'], '--tlscert, --tlskey and --tlscacert require the use of either --tls or --tlsverify'],
  [['manage', '--replication=T', 'etcd://127.0.0.1:2379'], '--advertise address must be provided when using --leader-election'],
  [['manage', '--engine-tlsverify=TRUE', 'nodes://127.0.0.1:2375'], '--engine-tlscacert must be provided when using --engine-tlsverify'],
  [['manage', '-H', 'manage', '--tls=true', 'nodes://127.0.0.1:2375'], '--tlscert and --tlskey must be provided when using --tls'],
  [['--debug=false', '-l', 'bogus', 'list', 'nodes://127.0.0.1:2375'], 'not a valid log level: "bogus"'],
  [['manage', '--tlsverify=maybe', 'nodes://127.0.0.1:2375'], 'invalid boolean value "maybe" for --tlsverify'],
  // Go's `-X=value` for short flags: the value after `=` (commander kept the `=`).
  [['manage', '-f=gpu', 'nodes://127.0.0.1:2375'], 'filter not supported: "gpu"'],
  [['manage', '-H=udp://127.0.0.1:4000', 'nodes://127.0.0.1:2375'], 'unsupported protocol: "udp"'],
  [['-l=bogus', 'list', 'nodes://127.0.0.1:2375'], 'not a valid log level: "bogus"'],
  // Go's one-dash long names.
  [['manage', '-strategy', 'fastest', 'nodes://127.0.0.1:2375'], 'strategy not supported: "fastest"'],
  [['manage', '-tlsverify', '-tlscert=c.pem', '-tlskey', 'k.pem', 'nodes://127.0.0.1:2375'], '--tlscacert must be provided when using --tlsverify'],
  [['-log-level', 'bogus', 'list', 'nodes://127.0.0.1:2375'], 'not a valid log level: "bogus"'],
  [['manage', '-tls=0', '-tlscert', 'c.pem', 'nodes://127.0.0.1:2375'], '--tlscert, --tlskey and --tlscacert require the use of either --tls or --tlsverify'],
];

test('Go flag forms of the original: --flag=<bool>, -X=value, one-dash long names', async (t) => {
  const dir = emptyDir(t);
  for (const [args, message] of BOOL_FORMS) {
    const r = await swarm(args, dir);
    assert.equal(r.code, 1, `${args.join(' ')} → ${r.stderr}`);
    assert.equal(r.stderr, `${message}\n`, args.join(' '));
  }
});

test('TLS files that cannot be read are reported before anything starts', async (t) => {
  const dir = emptyDir(t);
  const r = await swarm(['manage', '--tls', '--tlscert', 'nope.pem', '--tlskey', 'nope.key', 'nodes://127.0.0.1:2375'], dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^Couldn't load X509 key pair \\(${join(dir, 'nope.pem')}, ${join(dir, 'nope.key')}\\): ENOENT.*Key encrypted\\?\\n$`));
});

test('an unknown command-line option is one line and exit code 1', async (t) => {
  const r = await swarm(['manage', '--bogus'], emptyDir(t));
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /unknown option '--bogus'/);
});

test('settings in the config file are validated with the same messages, and the flags override them', async (t) => {
  const dir = emptyDir(t, { discovery: 'nodes://127.0.0.1:2375', manage: { heartbeat: '10ms' } });
  const bad = await swarm(['manage'], dir);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, '--heartbeat should be at least one second\n');
  // The flag wins over the file: the heartbeat is fine now and the next check speaks.
  const next = await swarm(['manage', '--heartbeat', '5s', '--engine-failure-retry', '0'], dir);
  assert.equal(next.stderr, 'invalid failure retry count\n');
});

test('a config error names the file; a broken plugin list fails before anything listens', async (t) => {
  const dir = emptyDir(t, { plugins: ['no-such-plugin'] });
  const r = await swarm(['list', 'nodes://127.0.0.1:2375'], dir);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.split('\n').length, 2);
  assert.match(r.stderr, new RegExp(`^unknown plugin "no-such-plugin" \\(config: ${join(dir, '.swarmrc.json')}\\)`));
});

test('list prints the first batch one host:port per line and exits 0', async (t) => {
  const dir = emptyDir(t, { plugins: [join(LOCAL, 'discovery-echo.js')] });
  const r = await swarm(['list', 'echo://127.0.0.70:2375,127.0.0.71:2375'], dir);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  assert.equal(r.stdout, '127.0.0.70:2375\n127.0.0.71:2375\n');
  // $SWARM_DISCOVERY stands in for the argument.
  const env = await swarm(['list'], dir, { SWARM_DISCOVERY: 'echo://127.0.0.72:2375' });
  assert.equal(env.stdout, '127.0.0.72:2375\n');
});

test('list says Timed out when the discovery gives nothing within --timeout', async (t) => {
  const dir = emptyDir(t, { plugins: [join(LOCAL, 'discovery-echo.js')] });
  const r = await swarm(['list', '--timeout', '1s', 'echo://never'], dir);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'Timed out\n');
});

test('an unknown discovery scheme lists the known ones', async (t) => {
  const dir = emptyDir(t, { plugins: [join(LOCAL, 'discovery-echo.js')] });
  const r = await swarm(['list', 'bogus://x'], dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^discovery service not supported: unknown discovery scheme "bogus" \(known: .*echo.*\)\n$/);
});

test('join registers every heartbeat with the ttl, keeps going after errors, and stops on SIGTERM with exit 0', async (t) => {
  const dir = emptyDir(t);
  const file = join(dir, 'registrations');
  writeFileSync(join(dir, '.swarmrc.json'), JSON.stringify({ plugins: [[join(LOCAL, 'discovery-echo.js'), { file }]] }));
  const run = start(['join', '--advertise', '127.0.0.70:2375', '--heartbeat', '1s', '--ttl', '3s', 'echo://x'], { cwd: dir });
  t.after(() => run.child.kill('SIGKILL'));
  const lines = () => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : []);
  await until(() => lines().length >= 2, 'two registrations', run.done);
  run.child.kill('SIGTERM');
  const r = await run.done;
  assert.equal(r.code, 0);
  assert.deepEqual(lines().slice(0, 2), ['127.0.0.70:2375 3000', '127.0.0.70:2375 3000']);
  assert.match(r.stdout, /Registering on the discovery service every 1s\.\.\./);

  // A backend that cannot register: the error is logged and the loop goes on.
  const dir2 = emptyDir(t, { plugins: [join(LOCAL, 'discovery-echo.js')] });
  const failing = start(['join', '--advertise', '127.0.0.70:2375', '--heartbeat', '1s', 'echo://x'], { cwd: dir2 });
  t.after(() => failing.child.kill('SIGKILL'));
  await until(() => (failing.out().match(/not implemented in this discovery service/g) ?? []).length >= 2, 'two logged failures', failing.done);
  failing.child.kill('SIGINT');
  assert.equal((await failing.done).code, 0);
});

test('manage: plugins from the file, filters from the flags, discovery fed to the cluster, API on -H; SIGTERM exits 0', async (t) => {
  const dir = emptyDir(t, { plugins: [join(LOCAL, 'discovery-echo.js'), join(LOCAL, 'strategy-first.js')] });
  // Port 0: the kernel picks a free port; the manager logs where it listens.
  const run = start(['manage', '-f', 'port', '-f', 'health', 'echo://127.0.0.70:1,127.0.0.71:1'], { cwd: dir, env: { SWARM_HOST: 'tcp://127.0.0.1:0' } });
  t.after(() => run.child.kill('SIGKILL'));
  await until(() => /"msg":"swarm manager started"/.test(run.out()), 'manager started', run.done);
  const started = run.out().split('\n').map((l) => { try { return JSON.parse(l); } catch { return {}; } })
    .find((l: { msg?: string }) => l.msg === 'swarm manager started') as { addresses: string[]; strategy: string; filters: string[] };
  assert.equal(started.strategy, 'first');
  assert.deepEqual(started.filters, ['port', 'health']);
  const base = started.addresses[0]!.replace('tcp://', 'http://');
  const ping = await fetch(`${base}/_ping`);
  assert.equal(ping.status, 200);
  const info = await (await fetch(`${base}/info`)).json() as { SystemStatus: [string, string][] };
  const status = new Map(info.SystemStatus);
  assert.equal(status.get('Strategy'), 'first');
  assert.equal(status.get('Filters'), 'port, health');
  assert.equal(status.get('Nodes'), '2');
  run.child.kill('SIGTERM');
  const r = await run.done;
  assert.equal(r.code, 0);
  await assert.rejects(fetch(`${base}/_ping`)); // nothing listens any more
});

test('create prints a token from the token service; join registers on it and list reads it back', async (t) => {
  const { startTokenServer } = await import('../../plugins/discovery-token/server.ts');
  const service = await startTokenServer({ host: '127.0.0.70', port: 0 });
  t.after(() => service.close());
  // The token backend by path, so the test does not depend on the registry's contents.
  const dir = emptyDir(t, { plugins: [resolve(import.meta.dirname, '../../plugins/discovery-token/index.ts')] });
  const env = { SWARM_DISCOVERY_URL: service.url };

  const created = await swarm(['create'], dir, env);
  assert.equal(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  assert.match(token, /^[A-Za-z0-9_-]+$/);
  assert.equal(created.stdout, `${token}\n`); // the token alone on stdout, for $(swarm create)

  const join = start(['join', '--advertise', '127.0.0.70:2375', '--heartbeat', '1s', `token://${token}`], { cwd: dir, env });
  t.after(() => join.child.kill('SIGKILL'));
  await until(() => /Registering on the discovery service/.test(join.out()), 'first registration', join.done);
  // The first registration may still be in flight after its log line: read until it shows (bounded).
  let listed: Run | undefined;
  for (let i = 0; i < 20 && (!listed || listed.stdout === ''); i++) listed = await swarm(['list', `token://${token}`], dir, env);
  assert.ok(listed);
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal(listed.stdout, '127.0.0.70:2375\n');
  join.child.kill('SIGTERM');
  assert.equal((await join.done).code, 0);

  // --discovery-url wins over the environment.
  const bad = await swarm(['create', '--discovery-url', 'http://127.0.0.70:1/v1'], dir, env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^discovery service 127\.0\.0\.70:1 unreachable/);
});

test('manage: a listen failure is one line, exit code 1, and nothing is left running', async (t) => {
  const net = await import('node:net');
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.70', r));
  t.after(() => blocker.close());
  const port = (blocker.address() as import('node:net').AddressInfo).port;
  const dir = emptyDir(t, { plugins: [join(LOCAL, 'discovery-echo.js'), join(LOCAL, 'strategy-first.js')] });
  const r = await swarm(['manage', '-H', `tcp://127.0.0.70:${port}`, 'echo://127.0.0.70:1'], dir);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `listen tcp 127.0.0.70:${port}: bind: address already in use\n`);
});

test('list with the built-in nodes backend expands a range; an unknown scheme lists the built-in ones', async (t) => {
  const dir = emptyDir(t);
  const r = await swarm(['list', 'nodes://127.0.0.[70:72]:2375'], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '127.0.0.70:2375\n127.0.0.71:2375\n127.0.0.72:2375\n');
  const bad = await swarm(['list', 'bogus://x'], dir);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^discovery service not supported: unknown discovery scheme "bogus" \(known: .*nodes.*\)\n$/);
});
