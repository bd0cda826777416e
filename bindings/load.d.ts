// Types of bindings/load.js: its default export is the namespace of the generated loader.
import * as core from './index.js';
export default core;
export type * from './index.js';
