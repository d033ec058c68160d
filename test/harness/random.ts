export { randomArray, randomInt, rng } from '../../src/gpu/random.ts';
