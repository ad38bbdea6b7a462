// Judge job definitions with Nosana's published validator (@nosana/types validateJobDefinition).
// Usage: node nosana_validate.mjs <node cache dir>  < [definition, ...]  > [verdict, ...]
// A verdict is {"valid": bool, "errors": [{"path", "expected"}]}.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const cache = process.argv[2];
const entry = join(cache, "node_modules", "@nosana", "types", "dist", "index.js");
const { validateJobDefinition } = await import(pathToFileURL(entry).href);

const definitions = JSON.parse(readFileSync(0, "utf8"));
const verdicts = definitions.map((definition) => {
  const result = validateJobDefinition(definition);
  const errors = result.success
    ? []
    : result.errors.map(({ path, expected }) => ({ path, expected }));
  return { valid: result.success, errors };
});
process.stdout.write(JSON.stringify(verdicts));
