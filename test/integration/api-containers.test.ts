/**
 * Container routes through the real docker CLI 28 against an in-process manager over the shared
 * engines: run (-d, --rm, -i, -it), ps and its filters, logs -f, exec (-it, -d), attach, the state
 * changes, rename, top, stats, wait, port, inspect, cp both ways, commit, and the proxy's version
 * rewriting.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { dockerCli } from '../cluster/index.ts';
import { apiCall, dockerTty, startTestManager, uniqueName, type TestManager } from './api-manager.ts';

let m: TestManager;
const created: string[] = [];
const docker = (...args: string[]) => dockerCli(m.host, args);
const dockerIn = (stdin: string, ...args: string[]) => dockerCli(m.host, args, { stdin });

/** A unique container name, removed after the file. */
function cname(prefix: string): string {
  const n = uniqueName(prefix);
  created.push(n);
  return n;
}

async function ok(...args: string[]): Promise<string> {
  const r = await docker(...args);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

before(async () => { m = await startTestManager(); });
after(async () => {
  if (created.length) await docker('rm', '-f', ...created);
  await m?.stop();
});

test('run --rm prints the output and passes the exit code on', async () => {
  const r = await docker('run', '--rm', 'busybox', 'sh', '-c', 'echo hello-out; echo hello-err >&2');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hello-out\n');
  assert.match(r.stderr, /hello-err/);
  const e = await docker('run', '--rm', 'busybox', 'sh', '-c', 'exit 3');
  assert.equal(e.code, 3);
});

test('run -i passes stdin through, run -it drives a terminal', async () => {
  const r = await dockerIn('echo from-stdin\nexit 4\n', 'run', '-i', '--rm', 'busybox', 'sh');
  assert.equal(r.stdout, 'from-stdin\n');
  assert.equal(r.code, 4);
  const t = await dockerTty(m.host, "run -it --rm busybox sh -c 'echo tty-ok; tty; exit 5'");
  assert.match(t.output, /tty-ok/);
  assert.match(t.output, /\/dev\/pts\/\d+/);
  assert.equal(t.code, 5);
});

test('run -d, then ps shows it as node/name, with node, name, label and status filters', async () => {
  const name = cname('ps');
  const stopped = cname('ps-exited');
  const id = (await ok('run', '-d', '--name', name, '--label', `apitest=${name}`, 'busybox', 'sleep', '300')).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  await ok('run', '--name', stopped, '--label', `apitest=${name}`, 'busybox', 'true');
  const node = (await ok('inspect', '-f', '{{.Node.Name}}', name)).trim();
  assert.match(node, /^node-\d+$/);

  const rows = await ok('ps', '--filter', `label=apitest=${name}`, '--format', '{{.ID}} {{.Names}} {{.Status}}');
  assert.equal(rows.trim().split('\n').length, 1, 'the exited one is hidden without -a');
  assert.match(rows, new RegExp(`^${id.slice(0, 12)} ${node}/${name} Up `));

  const all = await ok('ps', '-a', '--filter', `label=apitest=${name}`, '--format', '{{.Names}}');
  assert.equal(all.trim().split('\n').length, 2);
  const exited = await ok('ps', '--filter', `label=apitest=${name}`, '--filter', 'status=exited', '--format', '{{.Names}} {{.Status}}');
  assert.match(exited.trim(), new RegExp(`^node-\\d+/${stopped} Exited \\(0\\) `));
  const byName = await ok('ps', '--filter', `name=${name}$`, '--format', '{{.Names}}');
  assert.equal(byName.trim(), `${node}/${name}`);
  const byNode = await ok('ps', '--filter', `node=${node}`, '--filter', `label=apitest=${name}`, '--format', '{{.Names}}');
  assert.equal(byNode.trim(), `${node}/${name}`);
  const other = m.engines.find((e) => e.name !== node)!.name;
  const none = await ok('ps', '--filter', `node=${other}`, '--filter', `label=apitest=${name}`, '--format', '{{.Names}}');
  assert.equal(none.trim(), '');
  // every reference form finds it: name, node/name, short ID
  for (const ref of [name, `${node}/${name}`, id.slice(0, 12)]) {
    assert.equal((await ok('inspect', '-f', '{{.Id}}', ref)).trim(), id);
  }
});

test('a second container with the same name is a 409 conflict', async () => {
  const name = cname('dup');
  await ok('create', '--name', name, 'busybox', 'true');
  const r = await docker('create', '--name', name, 'busybox', 'true');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Conflict/);
  const api = await apiCall(m.host, 'POST', `/v1.41/containers/create?name=${name}`, { Image: 'busybox', Cmd: ['true'] });
  assert.equal(api.status, 409);
  assert.match(api.json().message, /^Conflict: The name/);
});

test('logs and logs -f stream the output', async () => {
  const name = cname('logs');
  await ok('run', '-d', '--name', name, 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.4; done');
  const follow = await docker('logs', '-f', name);
  assert.equal(follow.code, 0, follow.stderr);
  assert.equal(follow.stdout, 'line1\nline2\nline3\n');
  const tail = await ok('logs', '--tail', '1', name);
  assert.equal(tail, 'line3\n');
});

test('exec, exec -d, exec -it, and exec without a command', async () => {
  const name = cname('exec');
  await ok('run', '-d', '--name', name, 'busybox', 'sleep', '300');
  assert.equal(await ok('exec', name, 'echo', 'exec-ok'), 'exec-ok\n');
  const code = await docker('exec', name, 'sh', '-c', 'exit 6');
  assert.equal(code.code, 6);
  await ok('exec', '-d', name, 'sh', '-c', 'echo detached > /tmp/d.txt');
  let content = '';
  for (let i = 0; i < 50 && content !== 'detached\n'; i++) {
    content = (await docker('exec', name, 'cat', '/tmp/d.txt')).stdout;
    if (content !== 'detached\n') await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(content, 'detached\n');
  const t = await dockerTty(m.host, `exec -it ${name} sh -c 'echo in-exec; tty'`);
  assert.equal(t.code, 0, t.output);
  assert.match(t.output, /in-exec/);
  assert.match(t.output, /\/dev\/pts\/\d+/);
  const noCmd = await apiCall(m.host, 'POST', `/v1.41/containers/${name}/exec`, { AttachStdout: true });
  assert.equal(noCmd.status, 400);
  assert.deepEqual(noCmd.json(), { message: 'No exec command specified' });
});

test('attach sends stdin, streams the output and returns the exit code', async () => {
  const name = cname('attach');
  await ok('run', '-di', '--name', name, 'busybox', 'sh');
  const r = await dockerIn('echo attached-in\nexit 7\n', 'attach', name);
  assert.equal(r.code, 7, r.stderr);
  // Whether the echo reaches this client races with its stdin EOF (also straight on dockerd); the log has it.
  assert.equal(await ok('logs', name), 'attached-in\n');
  const later = cname('attach-out');
  await ok('run', '-d', '--name', later, 'busybox', 'sh', '-c', 'sleep 1; echo late-output; sleep 0.5; exit 2');
  const out = await docker('attach', later);
  assert.equal(out.stdout, 'late-output\n');
  assert.equal(out.code, 2);
});

test('stop, start, restart, kill, pause, unpause, wait, rm -f keep ps in step', async () => {
  const name = cname('life');
  await ok('run', '-d', '--name', name, 'busybox', 'sleep', '300');
  const status = async () => (await ok('ps', '-a', '--filter', `name=${name}$`, '--format', '{{.Status}}')).trim();
  await ok('pause', name);
  assert.match(await status(), /^Up .* \(Paused\)$/);
  await ok('unpause', name);
  assert.match(await status(), /^Up /);
  await ok('stop', '-t', '1', name);
  assert.match(await status(), /^Exited \(137\) /);
  assert.equal((await ok('ps', '--filter', `name=${name}$`, '--format', '{{.Names}}')).trim(), '', 'ps without -a hides it');
  await ok('start', name);
  assert.match(await status(), /^Up /);
  await ok('restart', '-t', '1', name);
  assert.match(await status(), /^Up /);
  await ok('kill', name);
  assert.equal((await ok('wait', name)).trim(), '137');
  assert.match(await status(), /^Exited \(137\) /);
  await ok('rm', '-f', name);
  assert.equal(await status(), '');
  const gone = await docker('inspect', name);
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, /No such (container|object)/);
});

test('rename, top, stats, port and inspect', async () => {
  const name = cname('misc');
  const renamed = cname('misc-renamed');
  await ok('run', '-d', '--name', name, '-p', '8080', 'busybox', 'sleep', '300');
  await ok('rename', name, renamed);
  const node = (await ok('inspect', '-f', '{{.Node.Name}}', renamed)).trim();
  assert.equal((await ok('ps', '--filter', `name=${renamed}$`, '--format', '{{.Names}}')).trim(), `${node}/${renamed}`);
  assert.match(await ok('top', renamed), /sleep 300/);
  assert.match(await ok('stats', '--no-stream', '--format', '{{.Name}}', renamed), new RegExp(renamed));
  const ip = m.engines.find((e) => e.name === node)!.ip;
  assert.match((await ok('port', renamed)).trim(), new RegExp(`^8080/tcp -> ${ip.replace(/\./g, '\\.')}:\\d+$`));
  assert.match(await ok('ps', '--filter', `name=${renamed}$`, '--format', '{{.Ports}}'), new RegExp(`${ip.replace(/\./g, '\\.')}:\\d+->8080/tcp`));
  const nodeJson = JSON.parse(await ok('inspect', '-f', '{{json .Node}}', renamed)) as Record<string, unknown>;
  assert.equal(nodeJson.Name, node);
  assert.equal(nodeJson.IP, ip);
  assert.match(String(nodeJson.ID), new RegExp(`\\|${ip.replace(/\./g, '\\.')}:\\d+$`));
  // renaming onto a taken name is a conflict
  const other = cname('misc-other');
  await ok('create', '--name', other, 'busybox', 'true');
  const clash = await docker('rename', renamed, other);
  assert.notEqual(clash.code, 0);
  assert.match(clash.stderr, /Conflict/);
});

test('cp both ways and commit', async () => {
  const name = cname('cp');
  await ok('run', '-d', '--name', name, 'busybox', 'sleep', '300');
  const dir = mkdtempSync(join(tmpdir(), 'apicp-'));
  try {
    writeFileSync(join(dir, 'in.txt'), 'copied-in\n');
    await ok('cp', join(dir, 'in.txt'), `${name}:/tmp/in.txt`);
    assert.equal(await ok('exec', name, 'cat', '/tmp/in.txt'), 'copied-in\n');
    await ok('exec', name, 'sh', '-c', 'echo copied-out > /tmp/out.txt');
    await ok('cp', `${name}:/tmp/out.txt`, join(dir, 'out.txt'));
    assert.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), 'copied-out\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const image = `${name}-img:1`;
  const imgId = (await ok('commit', name, image)).trim();
  assert.match(imgId, /^sha256:[0-9a-f]{64}$/);
  const node = (await ok('inspect', '-f', '{{.Node.Name}}', name)).trim();
  const listed = await ok('images', '--filter', `node=${node}`, '--format', '{{.Repository}}:{{.Tag}}');
  assert.ok(listed.split('\n').includes(image), listed);
  await ok('rmi', image);
});

test('proxied calls adapt the client API version to the engine', async () => {
  const name = cname('ver');
  const id = (await ok('create', '--name', name, 'busybox', 'true')).trim();
  // dockerd 20.10 refuses 1.50 ("client version 1.50 is too new") and anything under 1.12;
  // the manager refuses what is outside its advertised range the same way.
  for (const v of ['v1.41', 'v1.24', 'v1.12']) {
    const r = await apiCall(m.host, 'GET', `/${v}/containers/${name}/json`);
    assert.equal(r.status, 200, `${v}: ${r.text}`);
    assert.equal(r.json().Id, id);
    assert.equal(r.headers['api-version'], '1.41');
  }
  for (const [v, message] of [['v1.50', 'client version 1.50 is too new. Maximum supported API version is 1.41'],
    ['v1.5', 'client version 1.5 is too old. Minimum supported API version is 1.12, please upgrade your client to a newer version']]) {
    const r = await apiCall(m.host, 'GET', `/${v}/containers/${name}/json`);
    assert.equal(r.status, 400, `${v}: ${r.text}`);
    assert.equal(r.json().message, message);
  }
  const direct = await apiCall(m.engines[0].host, 'GET', '/v1.50/version');
  assert.equal(direct.status, 400, 'the engine itself refuses 1.50');
});

test('attach over websocket (attach/ws) is spliced to the engine', async () => {
  const name = cname('ws');
  await ok('run', '-d', '--name', name, 'busybox', 'sh', '-c', 'while true; do echo ws-tick; sleep 0.2; done');
  const u = new URL(m.host.replace(/^tcp:/, 'http:'));
  const answer = await new Promise<string>((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname, () => {
      sock.write([
        `GET /v1.41/containers/${name}/attach/ws?stream=1&stdout=1 HTTP/1.1`, `Host: ${u.host}`, 'Upgrade: websocket',
        'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', 'Origin: http://localhost', '', '',
      ].join('\r\n'));
    });
    let data = '';
    sock.setEncoding('latin1');
    sock.on('data', (c: string) => {
      data += c;
      if (data.includes('ws-tick')) { sock.destroy(); resolve(data); }
    });
    sock.on('error', reject);
    setTimeout(() => { sock.destroy(); resolve(data); }, 10_000);
  });
  assert.match(answer, /^HTTP\/1\.1 101 /);
  assert.match(answer, /ws-tick/);
});

test('hijacked calls on unknown containers or execs get a JSON 404', async () => {
  const u = new URL(m.host.replace(/^tcp:/, 'http:'));
  const answer = await new Promise<string>((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname, () => {
      sock.write(['POST /v1.41/exec/nope/start HTTP/1.1', `Host: ${u.host}`, 'Upgrade: tcp', 'Connection: Upgrade',
        'Content-Type: application/json', 'Content-Length: 2', '', '{}'].join('\r\n'));
    });
    let data = '';
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => (data += c));
    sock.on('end', () => resolve(data));
    sock.on('error', reject);
  });
  assert.match(answer, /^HTTP\/1\.1 404 /);
  assert.ok(answer.endsWith('{"message":"Exec nope not found"}'), answer);
});

test('creating from an image no node holds is a 404, as on an engine', async () => {
  const image = `${uniqueName('absent')}:1`;
  const r = await docker('run', '--pull', 'never', '--rm', image, 'true');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`No such image: ${image}`));
  const api = await apiCall(m.host, 'POST', '/v1.41/containers/create', { Image: image });
  assert.equal(api.status, 404);
  assert.deepEqual(api.json(), { message: `No such image: ${image}` });
});

test('ps -n (limit) lists the newest containers first', async () => {
  const older = cname('older');
  const newer = cname('newer');
  // Other tests of this file create containers too: look only at these two (limit applies after filters).
  const mark = `ps-order=${older}`;
  await ok('create', '--name', older, '--label', mark, 'busybox', 'true');
  await new Promise((r) => setTimeout(r, 1100)); // Created has second precision
  await ok('create', '--name', newer, '--label', mark, 'busybox', 'true');
  const last = await ok('ps', '-n', '1', '--filter', `label=${mark}`, '--format', '{{.Names}}');
  assert.match(last.trim(), new RegExp(`^node-\\d+/${newer}$`));
  const two = (await ok('ps', '-n', '2', '--filter', `label=${mark}`, '--format', '{{.Names}}')).trim().split('\n');
  assert.equal(two.length, 2);
  assert.match(two[0], new RegExp(`/${newer}$`));
  assert.match(two[1], new RegExp(`/${older}$`));
});
