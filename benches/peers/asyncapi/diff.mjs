#!/usr/bin/env node
// The peer of `tidings diff` in benches/tooling.sh: two documents through the official
// @asyncapi/diff, which wants them parsed and dereferenced, so each goes through
// @asyncapi/parser first (as the AsyncAPI CLI's `asyncapi diff` does). Prints how many
// changes it classed breaking, non-breaking and unclassified. Exit 0 no breaking change,
// 1 breaking changes, 2 usage or a document that does not parse.
//
//   node diff.mjs OLD NEW
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Parser } from '@asyncapi/parser';
import { diff } from '@asyncapi/diff';

const files = process.argv.slice(2);
if (files.length !== 2) {
  process.stderr.write('usage: node diff.mjs OLD NEW\n');
  process.exit(2);
}
const parser = new Parser();
// The parser's own bookkeeping (`x-parser-*`) differs between any two documents: left out.
const plain = (v) =>
  Array.isArray(v)
    ? v.map(plain)
    : v && typeof v === 'object'
      ? Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith('x-parser-')).map(([k, x]) => [k, plain(x)]))
      : v;
async function load(file) {
  const source = path.resolve(file);
  const { document } = await parser.parse(await readFile(source, 'utf8'), { source });
  if (!document) {
    process.stderr.write(`${file}: not a valid AsyncAPI document\n`);
    process.exit(2);
  }
  return plain(JSON.parse(JSON.stringify(document.json())));
}
const out = diff(await load(files[0]), await load(files[1]));
const [b, n, u] = [out.breaking().length, out.nonBreaking().length, out.unclassified().length];
process.stdout.write(`breaking: ${b}, non-breaking: ${n}, unclassified: ${u}\n`);
process.exitCode = b > 0 ? 1 : 0;
