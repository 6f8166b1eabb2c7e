#!/usr/bin/env node
// The peer of `tidings validate` in benches/tooling.sh: one document through the official
// @asyncapi/parser (what `asyncapi validate` of the AsyncAPI CLI runs), its error
// diagnostics counted. Exit 0 valid, 1 invalid, 2 usage.
//
//   node validate.mjs FILE
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';

const [file] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node validate.mjs FILE\n');
  process.exit(2);
}
const source = path.resolve(file);
const { diagnostics } = await new Parser().parse(await readFile(source, 'utf8'), { source });
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
for (const d of errors) process.stderr.write(`error ${(d.path || []).join('.') || '$'}: ${d.message} [${d.code}]\n`);
process.stdout.write(`${errors.length} errors, ${diagnostics.length - errors.length} other diagnostics\n`);
process.exitCode = errors.length > 0 ? 1 : 0;
