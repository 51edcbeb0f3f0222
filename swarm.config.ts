// swarm.config.ts: the default cluster. Found by `swarm` when run in this directory (or below
// it); another file can be named with `--config PATH`. Every value below is the built-in
// default, so this file changes nothing until you edit it. Flags and their environment variables
// override what is written here (flags > env > this file > defaults).
//
// The same settings can live in `.swarmrc.json` / `.swarmrc.yaml` / `package.json#swarm`, with
// plugins given by name: "health", ["constraint", { … }], "@acme/swarm-plugin-filter-gpu",
// "./plugins/local.js".
import { defineConfig } from './config/index.ts';
import reschedule from './plugins/failover-reschedule/index.ts';
import affinity from './plugins/filter-affinity/index.ts';
import constraint from './plugins/filter-constraint/index.ts';
import containerslots from './plugins/filter-containerslots/index.ts';
import dependency from './plugins/filter-dependency/index.ts';
import health from './plugins/filter-health/index.ts';
import port from './plugins/filter-port/index.ts';
import whitelist from './plugins/filter-whitelist/index.ts';
import spread from './plugins/strategy-spread/index.ts';

export default defineConfig({
  // Where the engines are found, used when no URL is given on the command line or in
  // $SWARM_DISCOVERY. Schemes: nodes:// (or a bare list), file://, token://, etcd://, consul://, zk://.
  // Example, the three engines of `test/cluster` (127.0.0.11–13):
  // discovery: 'nodes://127.0.0.[11:13]:2375',

  // --discovery-opt: options of the discovery backend. kv.path is where the KV backends keep the
  // nodes; kv.cacertfile, kv.certfile and kv.keyfile (all three) turn on TLS to consul/etcd.
  discoveryOpts: { 'kv.path': 'docker/swarm/nodes' },

  // Global flags.
  logLevel: 'info', // --log-level: debug, info, warn, error, fatal, panic (logs go to stdout)
  debug: false, // --debug: debug level (unless logLevel is set) and request logging in the API
  experimental: false, // --experimental: shown as ExperimentalBuild in `docker info`

  // `swarm create`: base URL of the token service (--discovery-url, $SWARM_DISCOVERY_URL).
  // tokenService: 'http://127.0.0.1:8383/v1',

  manage: {
    host: 'tcp://127.0.0.1:2375', // -H, $SWARM_HOST: listen addresses (tcp://ip:port, ip:port, :port, unix:///path); a list is allowed
    // strategy: 'binpack', // --strategy: replaces the strategy of `plugins` below (spread, binpack, random)
    // filters: ['health', 'port'], // -f: replaces every filter of `plugins` below, in this order
    tls: {
      enabled: false, // --tls: serve TLS (no client certificate required; engines are not verified)
      verify: false, // --tlsverify: TLS with client certificates checked against `ca`; engines verified too
      // ca: './certs/ca.pem', // --tlscacert (paths are relative to this file)
      // cert: './certs/cert.pem', // --tlscert: also the client certificate towards the engines
      // key: './certs/key.pem', // --tlskey
    },
    engineRefreshMinInterval: '30s', // --engine-refresh-min-interval: engine state refresh, lower bound
    engineRefreshMaxInterval: '60s', // --engine-refresh-max-interval: upper bound (must be >= min)
    engineFailureRetry: 3, // --engine-failure-retry: failed calls before a node shows Unhealthy
    // heartbeat: '60s', // --heartbeat (default 60s): poll period of file:// and token://, retry delay of a broken KV watch (>= 1s);
    //                  // unset here, the discovery plugin's own option applies: etcd({ heartbeat: '20s' })
    clusterDriver: 'swarm', // -c, --cluster-driver: the only one
    clusterOpts: {
      'swarm.overcommit': '0.05', // reserve up to 105% of each node's CPUs and memory (> -1)
      'swarm.createretry': '0', // retries of a failed container create on another node (>= 0)
    },
    replication: false, // --replication: leader election between managers (consul, etcd, zk discovery only)
    replicationTtl: '20s', // --replication-ttl: leader lock TTL; a dead primary is replaced after about this long
    // advertise: '127.0.0.1:4000', // --advertise, $SWARM_ADVERTISE: this manager's address for the others (required with replication)
    cors: false, // --api-enable-cors: CORS headers on every API response
    refreshOnNodeFilter: false, // --refresh-on-node-filter: `docker ps --filter node=X` refreshes X first
    // containerNameRefreshFilter: 'refresh-me', // --container-name-refresh-filter: `docker ps --filter name=<this>` refreshes every engine first
  },

  join: {
    // advertise: '127.0.0.11:2375', // --advertise, $SWARM_ADVERTISE: the ENGINE's address to register (required)
    // heartbeat: '60s', // --heartbeat (default 60s): registration period
    // ttl: '180s', // --ttl (default 180s): registration lifetime, must be longer than the heartbeat
    //              // unset here, the discovery plugin's own options apply: etcd({ heartbeat: '20s', ttl: '60s' })
    delay: '0s', // --delay: random wait in [0, delay) before the first registration
  },

  list: {
    timeout: '10s', // --timeout: how long `swarm list` waits for the discovery
  },

  // The plugins, in order. Filters run in the order written (cheap ones first); exactly one
  // strategy; falsy entries are skipped (`process.env.X && plugin()`), arrays (presets) are
  // flattened. Without any filter the legacy list below is used; without a strategy, spread.
  // The discovery backend for the URL's scheme is added automatically; list it to give it options,
  // e.g. etcd({ heartbeat: '20s', ttl: '60s' }) (import etcd from './plugins/discovery-etcd/index.ts').
  plugins: [
    health(), // drop nodes that are not healthy
    port(), // drop nodes where a published host port is taken
    containerslots(), // honour the com.docker.swarm.containerslots engine label
    dependency(), // --volumes-from, --link, --net=container: go where the dependency is
    affinity(), // affinity:container==…, affinity:image==…
    constraint(), // constraint:storage==ssd, node==…, engine labels
    whitelist(), // whitelist:node-1|node-2
    spread(), // the strategy: fewest reserved resources first
    reschedule(), // on-node-failure rescheduling of containers with a reschedule policy
  ],
});
