// Consul discovery against the Consul-compatible emulator (test/consul-compatible-server): no
// Consul server can be installed on the test machines. session_ttl_min is lowered to 1 s (a real
// Consul agent setting) so TTL scenarios stay short.
import { after, before } from 'node:test';
import consul from '../../plugins/discovery-consul/index.ts';
import { startConsulServer, type ConsulServer } from '../consul-compatible-server/index.ts';
import { kvScenarios } from './discovery-kv-scenarios.ts';

let server: ConsulServer;
before(async () => { server = await startConsulServer({ host: '127.0.0.60', port: 0, sessionTtlMinMs: 1000 }); });
after(async () => { await server?.close(); });

kvScenarios({
  scheme: 'consul',
  plugin: () => consul(),
  store: () => server,
  ttl: 3000,
  heartbeat: 1000,
  deadEndpoint: '127.0.0.61:42996',
});
