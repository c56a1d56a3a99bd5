// Generates TypeScript types for proto/*.proto into proto/gen/ with @grpc/proto-loader's
// generator. `--check` regenerates into a temporary directory and fails if the committed
// types differ, so CI catches a .proto edited without regenerating.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const protoDir = join(root, 'proto');
const committed = join(protoDir, 'gen');
const check = process.argv.includes('--check');

function generate(outDir: string): void {
  const protos = readdirSync(protoDir).filter((f) => f.endsWith('.proto'));
  execFileSync(
    join(root, 'node_modules/.bin/proto-loader-gen-types'),
    [
      '--grpcLib=@grpc/grpc-js',
      '--longs=String',
      '--enums=String',
      '--defaults',
      '--oneofs',
      `--outDir=${outDir}`,
      ...protos,
    ],
    { cwd: protoDir, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  // The generator writes extensionless imports; typing the folder as CommonJS lets
  // TypeScript's nodenext resolution accept them (only `import type` reaches these files).
  writeFileSync(join(outDir, 'package.json'), '{ "type": "commonjs" }\n');
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

if (!check) {
  rmSync(committed, { recursive: true, force: true });
  mkdirSync(committed, { recursive: true });
  generate(committed);
  console.log(`proto-gen: wrote ${listFiles(committed).length} files to ${relative(root, committed)}`);
} else {
  const tmp = mkdtempSync(join(tmpdir(), 'netloom-proto-'));
  try {
    generate(tmp);
    const want = listFiles(tmp);
    const have = listFiles(committed);
    const drift = [
      ...want.filter(
        (f) =>
          !have.includes(f) ||
          readFileSync(join(tmp, f), 'utf8') !== readFileSync(join(committed, f), 'utf8'),
      ),
      ...have.filter((f) => !want.includes(f)),
    ];
    if (drift.length > 0) {
      console.error(
        `proto-gen: proto/gen is stale (${drift.slice(0, 5).join(', ')}…); run npm run proto:gen`,
      );
      process.exit(1);
    }
    console.log(`proto-gen: proto/gen matches proto/*.proto (${want.length} files)`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
