// Routing: qmail-send's recipient rewriting and local/remote split. See rewrite.ts.
export * from './rewrite.js';
