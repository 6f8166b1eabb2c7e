#!/usr/bin/env python3
"""Writes a valid AsyncAPI 3.0.0 document with N channels (one message, one schema and
one operation each, alternating send and receive), and with --changed a second version
of it with a few breaking and non-breaking changes, for `tidings validate`/`diff`.

  gen_doc.py N OUT.json [--changed]
"""
import json, sys

n, out = int(sys.argv[1]), sys.argv[2]
changed = "--changed" in sys.argv
doc = {"asyncapi": "3.0.0", "info": {"title": f"generated-{n}", "version": "1.0.0"},
       "defaultContentType": "application/json", "channels": {}, "operations": {},
       "components": {"messages": {}, "schemas": {}}}
for i in range(n):
    ch, msg, schema = f"domain{i % 40}.entity{i}.changed", f"Entity{i}Changed", f"Entity{i}"
    props = {"id": {"type": "string", "description": "Unique id."},
             "count": {"type": "integer", "format": "int32", "minimum": 0},
             "tags": {"type": "array", "items": {"type": "string"}},
             "updated_at": {"type": "string", "format": "date-time"}}
    required = ["id", "count", "updated_at"]
    if changed and i % 100 == 0:
        props["count"] = {"type": "string"}          # breaking for consumers
    if changed and i % 100 == 1:
        props["note"] = {"type": "string"}           # additive
    if changed and i % 250 == 2:
        continue                                      # channel removed
    doc["components"]["schemas"][schema] = {"type": "object", "properties": props, "required": required}
    doc["components"]["messages"][msg] = {"name": msg, "contentType": "application/json",
                                          "payload": {"$ref": f"#/components/schemas/{schema}"}}
    doc["channels"][f"c{i}"] = {"address": ch, "messages": {msg: {"$ref": f"#/components/messages/{msg}"}}}
    doc["operations"][f"op{i}"] = {"action": "send" if i % 2 else "receive",
                                   "channel": {"$ref": f"#/channels/c{i}"},
                                   "messages": [{"$ref": f"#/channels/c{i}/messages/{msg}"}]}
json.dump(doc, open(out, "w"), indent=1)
