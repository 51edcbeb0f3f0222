#!/usr/bin/env node
// The `swarm` executable: swarm is written in TypeScript and run through tsx (TypeScript 7 emits
// no JavaScript), so register tsx's loader before importing the real entry point.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
await main();
