#!/bin/sh
':' //; case " $NODE_OPTIONS " in *semi[-_]space[-_]size*) exec node "$0" "$@";; esac
':' //; exec node --max-semi-space-size=32 "$0" "$@"
// The `swarm` executable. The two lines above are shell (this file is a shell/JavaScript polyglot:
// to JavaScript each is a string and a comment): run as a program, /bin/sh execs node on this same
// file — the same process, so its PID is the manager's — with V8's young generation raised from
// 16 MB to 32 MB per semi-space, unless NODE_OPTIONS already sets --max-semi-space-size (the only
// heap size flag Node accepts there besides --max-old-space-size, which does not conflict). A heap
// size flag only acts when the isolate starts, so this cannot be done from JavaScript; `node
// core/cli/bin.js` (node given explicitly, with its own flags) skips the shell lines. Why 32 MB:
// core/cli/heap.ts.
//
// swarm is written in TypeScript and run through tsx (TypeScript 7 emits no JavaScript), so
// register tsx's loader before importing the real entry point.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
await main();
