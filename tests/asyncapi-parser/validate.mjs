#!/usr/bin/env node
// Derived from the shared AsyncAPI harness (/work/shared/asyncapi-harness/validate.mjs),
// copied unchanged apart from this note; credit to its authors.
// validate.mjs — validate AsyncAPI documents (YAML or JSON) with the official
// @asyncapi/parser (v3 line), with the Avro schema parser registered (and the
// Protobuf schema parser too, when it is installed).
//
// Usage:
//   node validate.mjs [--strict] [--json] [--parser-only] FILE...   ('-' reads stdin)
//
//   --strict       also fail a document on warning-severity diagnostics
//   --json         print a JSON report instead of text (the final summary line stays)
//   --parser-only  print only what @asyncapi/parser itself reports (skip the harness
//                  check described below)
//
// Harness check (on unless --parser-only): @asyncapi/parser 3.x runs the registered
// schema parsers' validate() only for AsyncAPI 2.x documents. For 3.x documents it
// converts a Multi Format Schema Object ({schemaFormat, schema}) with the
// registered parser but never validates it, and silently accepts a schemaFormat no
// parser is registered for. For 3.x documents this script therefore calls the
// registered (non-JSON-Schema) parser's own validate() on each such schema, the way
// the parser does for 2.x, and reports:
//   error   [harness:schema-validate]   what the schema parser's validate() returned
//   warning [harness:no-schema-parser]  schemaFormat with no registered parser
// Every other diagnostic comes from @asyncapi/parser unchanged.
//
// Exit codes: 0 every document valid; 1 at least one invalid; 2 usage error.
// Offline: the AsyncAPI JSON Schemas ship inside @asyncapi/specs and the rules run
// locally; only a document that itself $refs an http(s) URL reaches for the network
// (offline that $ref fails as an invalid-ref error).

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';

const SEVERITY = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

function usage(msg) {
  if (msg) process.stderr.write(`validate.mjs: ${msg}\n`);
  process.stderr.write('usage: node validate.mjs [--strict] [--json] [--parser-only] FILE... (- = stdin)\n');
  process.exit(2);
}

const opts = { strict: false, json: false, parserOnly: false };
const files = [];
for (const a of process.argv.slice(2)) {
  if (a === '--strict') opts.strict = true;
  else if (a === '--json') opts.json = true;
  else if (a === '--parser-only') opts.parserOnly = true;
  else if (a === '-h' || a === '--help') usage();
  else if (a.startsWith('--')) usage(`unknown option ${a}`);
  else files.push(a);
}
if (files.length === 0) usage('no input files');

const parser = new Parser();
parser.registerSchemaParser(AvroSchemaParser());
const registered = ['avro'];
try {
  const { ProtoBuffSchemaParser } = await import('@asyncapi/protobuf-schema-parser');
  parser.registerSchemaParser(ProtoBuffSchemaParser());
  registered.push('protobuf');
} catch {
  // optional dependency not installed
}

async function readInput(file) {
  if (file === '-') {
    const chunks = [];
    for await (const c of process.stdin) chunks.push(c);
    return { source: path.resolve('stdin'), text: Buffer.concat(chunks).toString('utf8') };
  }
  const abs = path.resolve(file);
  return { source: abs, text: await readFile(abs, 'utf8') };
}

function fmtPath(p) {
  if (!Array.isArray(p) || p.length === 0) return '$';
  return (
    '$' +
    p
      .map((s) =>
        typeof s === 'number' ? `[${s}]` : /^[A-Za-z_$][\w$]*$/.test(String(s)) ? `.${s}` : `[${JSON.stringify(String(s))}]`,
      )
      .join('')
  );
}

function fmtRange(r) {
  if (!r || !r.start) return '';
  return `${r.start.line + 1}:${r.start.character + 1}`;
}

// Same locations @asyncapi/parser 3.x scans for Multi Format Schema Objects
// (customSchemasPathsV3 in its parse-schema.js); components first so a shared
// (dereferenced) schema is reported at its definition.
const V3_SCHEMA_LOCATIONS = [
  ['components', 'messages', '*', 'payload'],
  ['components', 'messages', '*', 'headers'],
  ['components', 'schemas', '*'],
  ['channels', '*', 'messages', '*', 'payload'],
  ['channels', '*', 'messages', '*', 'headers'],
  ['components', 'channels', '*', 'messages', '*', 'payload'],
  ['components', 'channels', '*', 'messages', '*', 'headers'],
  ['operations', '*', 'messages', '*', 'payload'],
  ['operations', '*', 'messages', '*', 'headers'],
  ['components', 'operations', '*', 'messages', '*', 'payload'],
  ['components', 'operations', '*', 'messages', '*', 'headers'],
];

function* walk(node, pattern, at = []) {
  if (pattern.length === 0) {
    yield [node, at];
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const [head, ...rest] = pattern;
  const keys = head === '*' ? Object.keys(node) : [head];
  for (const k of keys) {
    if (Object.prototype.hasOwnProperty.call(node, k)) yield* walk(node[k], rest, [...at, Array.isArray(node) ? Number(k) : k]);
  }
}

const isJsonSchemaFormat = (f) => /^application\/(vnd\.aai\.asyncapi|schema)(\+json|\+yaml)?;/.test(f);

async function harnessSchemaCheck(document, source) {
  const out = [];
  const json = document.json();
  const version = document.version();
  const [major, minor, patch] = version.split('.').map(Number);
  if (major !== 3) return out;
  const detailed = { source, parsed: json, semver: { version, major, minor, patch } };
  const seen = new Set();
  for (const loc of V3_SCHEMA_LOCATIONS) {
    for (const [obj, at] of walk(json, loc)) {
      if (!obj || typeof obj !== 'object' || seen.has(obj)) continue;
      seen.add(obj);
      if (typeof obj.schemaFormat !== 'string' || obj.schema === undefined) continue;
      const fmt = obj.schemaFormat;
      if (isJsonSchemaFormat(fmt)) continue; // covered by the parser's own document validation
      const sp = parser.parserRegistry.get(fmt);
      if (!sp) {
        out.push({ severity: 'warning', code: 'harness:no-schema-parser', path: fmtPath([...at, 'schemaFormat']), message: `No schema parser registered for "${fmt}" (schema not validated)`, range: '' });
        continue;
      }
      const data = obj['x-parser-original-payload'] ?? obj.schema;
      let results;
      try {
        results = await sp.validate({ asyncapi: detailed, data, meta: { message: obj }, path: [...at, 'schema'], schemaFormat: fmt, defaultSchemaFormat: `application/vnd.aai.asyncapi;version=${version}` });
      } catch (e) {
        results = [{ message: `schema parser threw: ${e.message}`, path: [...at, 'schema'] }];
      }
      for (const r of results || []) {
        out.push({ severity: 'error', code: 'harness:schema-validate', path: fmtPath(r.path || [...at, 'schema']), message: `${fmt}: ${r.message}`, range: '' });
      }
    }
  }
  return out;
}

let nValid = 0;
let nInvalid = 0;
const report = [];

for (const file of files) {
  const entry = { file, valid: false, parsed: false, counts: { error: 0, warning: 0, info: 0, hint: 0 }, diagnostics: [] };
  const add = (d) => {
    entry.counts[d.severity] = (entry.counts[d.severity] ?? 0) + 1;
    entry.diagnostics.push(d);
  };
  let input;
  try {
    input = await readInput(file);
  } catch (e) {
    add({ severity: 'error', code: 'read-error', path: '$', message: e.message, range: '' });
  }
  if (input) {
    const { document, diagnostics } = await parser.parse(input.text, { source: input.source });
    for (const d of diagnostics) {
      add({
        severity: SEVERITY[d.severity] ?? String(d.severity),
        code: d.code,
        path: fmtPath(d.path),
        message: d.message,
        range: fmtRange(d.range),
        ...(d.source && d.source !== input.source ? { source: d.source } : {}),
      });
    }
    entry.parsed = !!document;
    if (document) {
      entry.asyncapi = document.version();
      if (!opts.parserOnly) for (const d of await harnessSchemaCheck(document, input.source)) add(d);
    }
  }
  entry.valid = entry.parsed && entry.counts.error === 0 && !(opts.strict && entry.counts.warning > 0);
  if (entry.valid) nValid++;
  else nInvalid++;
  report.push(entry);

  if (!opts.json) {
    const c = entry.counts;
    process.stdout.write(
      `${entry.valid ? 'VALID  ' : 'INVALID'} ${file}` +
        (entry.asyncapi ? ` (asyncapi ${entry.asyncapi})` : '') +
        ` — ${c.error} error(s), ${c.warning} warning(s), ${c.info} info, ${c.hint} hint(s)\n`,
    );
    for (const d of entry.diagnostics) {
      process.stdout.write(
        `  ${d.severity.padEnd(7)} ${d.range ? `${file}:${d.range} ` : ''}${d.path}  ${d.message}` +
          (d.code !== undefined ? `  [${d.code}]` : '') +
          (d.source ? `  (in ${d.source})` : '') +
          '\n',
      );
    }
  }
}

if (opts.json) {
  process.stdout.write(
    JSON.stringify({ strict: opts.strict, parserOnly: opts.parserOnly, schemaParsers: registered, files: report, valid: nValid, invalid: nInvalid }, null, 2) + '\n',
  );
}
process.stdout.write(`${nValid} valid, ${nInvalid} invalid\n`);
process.exitCode = nInvalid > 0 ? 1 : 0;
