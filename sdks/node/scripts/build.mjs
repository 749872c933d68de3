// Dual build: ESM into dist/esm, CommonJS into dist/cjs, each with its .d.ts files and a
// package.json that fixes the module type of its folder; then the repository's LICENSE is copied in.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

rmSync(join(root, "dist"), { recursive: true, force: true });
for (const config of ["tsconfig.esm.json", "tsconfig.cjs.json"]) {
  const r = spawnSync(process.execPath, [tsc, "-p", join(root, config)], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
for (const [dir, type] of [["esm", "module"], ["cjs", "commonjs"]]) {
  mkdirSync(join(root, "dist", dir), { recursive: true });
  writeFileSync(join(root, "dist", dir, "package.json"), JSON.stringify({ type }) + "\n");
}
// The project's one license text (the repository root's LICENSE, MIT) ships in the package:
// copied here at build time, never kept as a second copy in git.
const rootLicense = join(root, "..", "..", "LICENSE");
if (existsSync(rootLicense)) {
  copyFileSync(rootLicense, join(root, "LICENSE"));
} else if (!existsSync(join(root, "LICENSE"))) {
  console.error(`no LICENSE: expected the repository's at ${rootLicense}`);
  process.exit(1);
}
console.log("built dist/esm and dist/cjs (and copied LICENSE)");
