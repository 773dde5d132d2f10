// Lambda entry point: a thin re-export, so the handler's logic lives (and is tested) in src/.
export { handler } from '../../src/hosts/lambda/resync';
