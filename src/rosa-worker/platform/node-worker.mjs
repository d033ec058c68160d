// Bootstrap for ROSA worker threads in Node: Node 20 cannot import .ts by itself, so register
// tsx's loader in this thread first (same source as the browser worker, no build step).
import { register } from 'tsx/esm/api';

register();
await import('./node-worker.ts');
