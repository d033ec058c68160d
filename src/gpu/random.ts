export { mixSeed, type Rng, randomArray, randomInt, rng } from '../common/random.ts';
