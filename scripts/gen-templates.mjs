// Generates the TypeScript template's gRPC code (templates/typescript/src/gen) from its proto/ folder, with the
// plugin from this repository's node_modules. The template's own buf.gen.yaml does the same for its users.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const template = {
  version: 'v2',
  clean: true,
  plugins: [
    {
      local: `${root}node_modules/.bin/protoc-gen-ts_proto`,
      out: 'templates/typescript/src/gen',
      opt: ['outputServices=grpc-js', 'esModuleInterop=true', 'importSuffix=.js', 'useOptionals=messages'],
    },
  ],
};
execFileSync(
  `${root}node_modules/.bin/buf`,
  ['generate', 'templates/typescript/proto', '--template', JSON.stringify(template)],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
