// etcd discovery against a real etcd 3.4 from the cluster kit.
import { after, before } from 'node:test';
import { startEtcd, type StoreServer } from '../cluster/index.ts';
import etcd from '../../plugins/discovery-etcd/index.ts';
import { kvScenarios } from './discovery-kv-scenarios.ts';

let server: StoreServer;
before(async () => { server = await startEtcd(); });
after(async () => { await server?.destroy(); });

kvScenarios({
  scheme: 'etcd',
  plugin: () => etcd(),
  store: () => server,
  ttl: 3000,
  heartbeat: 1000,
  deadEndpoint: '127.0.0.1:42998',
});
