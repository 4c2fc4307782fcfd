// Validates AsyncAPI documents with the AsyncAPI initiative's own parser (@asyncapi/parser):
//   node scripts/asyncapi/validate.mjs doc.json [doc.json ...]
// Prints every diagnostic; exits 1 if any document has an error.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const parser = new Parser();
let failed = false;
for (const path of process.argv.slice(2)) {
  const { document, diagnostics } = await parser.parse(readFileSync(path, "utf8"));
  const errors = diagnostics.filter((d) => d.severity === 0);
  for (const d of diagnostics) {
    const level = ["error", "warning", "info", "hint"][d.severity];
    console.log(`${path}: ${level}: ${d.code}: ${d.message} at ${d.path.join(".")}`);
  }
  if (!document || errors.length) {
    failed = true;
  } else {
    console.log(`${path}: valid AsyncAPI ${document.version()}, ${document.messages().length} messages`);
  }
}
process.exit(failed ? 1 : 0);
