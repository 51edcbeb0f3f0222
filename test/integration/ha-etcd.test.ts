// Replicated managers on etcd: election, forwarding through replicas, kill -9 takeover within
// TTL + 2 s (report: bench/results/failover-etcd.json), rejoin as replica, burst across failover.
import { haScenario } from './ha-scenario.ts';

haScenario('etcd');
