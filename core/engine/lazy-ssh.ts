/**
 * docker-modem (under dockerode) loads its ssh:// agent, and with it the ssh2 package, as soon as it
 * is imported: about 15 MB of RSS in every manager (ssh2's poly1305 WebAssembly module alone
 * reserves 16 MB), although the engine layer never dials through docker-modem (modem.ts has its
 * own `dial`) and engines are tcp:// only. Its `lib/ssh.js` is put in the CommonJS cache as a
 * stand-in that loads the real module on first use, so nothing changes for a caller that uses it.
 *
 * Side-effect module: import it before anything that imports dockerode or docker-modem.
 */
import Module, { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

type SshAgent = (this: unknown, ...args: unknown[]) => unknown;

/** Path of docker-modem's ssh agent module (the file its `modem.js` requires as `./ssh`). */
export const SSH_MODULE = path.join(path.dirname(require.resolve('docker-modem')), 'ssh.js');

if (!require.cache[SSH_MODULE]) {
  let real: SshAgent | undefined;
  const stub = new Module(SSH_MODULE);
  const load = (): SshAgent => {
    delete require.cache[SSH_MODULE];
    try {
      real = require(SSH_MODULE) as SshAgent;
    } finally {
      require.cache[SSH_MODULE] = stub;
    }
    return real;
  };
  stub.filename = SSH_MODULE;
  stub.loaded = true;
  stub.exports = function lazySshAgent(this: unknown, ...args: unknown[]) {
    return (real ?? load()).apply(this, args);
  };
  require.cache[SSH_MODULE] = stub;
}

/** True once the real ssh agent (and ssh2) was loaded. */
export function sshLoaded(): boolean {
  return Object.keys(require.cache).some((k) => k.includes(`${path.sep}node_modules${path.sep}ssh2${path.sep}`));
}
