// Replicated managers on ZooKeeper: election, forwarding through replicas, kill -9 takeover within
// TTL + 2 s (report: bench/results/failover-zookeeper.json), rejoin as replica, burst across failover.
import { haScenario } from './ha-scenario.ts';

haScenario('zookeeper');
