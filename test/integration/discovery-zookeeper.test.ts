// ZooKeeper discovery against a real ZooKeeper 3.8 from the cluster kit (tickTime 2 s, so
// session timeouts are clamped to [4 s, 40 s]).
import { after, before } from 'node:test';
import { startZookeeper, type StoreServer } from '../cluster/index.ts';
import zookeeper from '../../plugins/discovery-zookeeper/index.ts';
import { kvScenarios } from './discovery-kv-scenarios.ts';

let server: StoreServer;
before(async () => { server = await startZookeeper(); });
after(async () => { await server?.destroy(); });

kvScenarios({
  scheme: 'zk',
  plugin: () => zookeeper(),
  store: () => server,
  ttl: 4000,
  heartbeat: 1000,
  deadEndpoint: '127.0.0.1:42997',
});
