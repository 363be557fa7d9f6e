import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { RenderedFile } from '../../runtime/index.js';
import type { CliContext } from '../context.js';
import { findProjectDir } from '../local/project.js';
import { version } from '../version.js';

/**
 * `evented deploy kubernetes [dir]`: the project's Kubernetes manifests, rendered from evented.yaml (its
 * `deploy` section) by the runtime, written as YAML files into --out (default deploy/kubernetes/ in the project)
 * or printed. Nothing reaches a cluster: `kubectl apply -f` is the user's step.
 */

interface DeployOptions {
  out?: string;
  stdout?: boolean;
}

const examples = `
Examples:
  evented deploy kubernetes                     # deploy/kubernetes/*.yaml in the project
  evented deploy kubernetes ./bank --out ./manifests
  evented deploy kubernetes --stdout | kubectl apply -f -

What it renders comes from evented.yaml: the store (PostgreSQL or MongoDB) and the bus (RabbitMQ) every pod
shares, and its deploy section: image, namespace, roles.<role>.replicas and .resources, resources, secrets
(store, bus, tls, token), mutualTls, consul. Secrets are referenced, never rendered.`;

/** Files a previous rendering wrote into `folder` (they start with the header): replaced, so none is left stale. */
const removeRendered = (folder: string, header: string): void => {
  for (const sub of ['', 'consul']) {
    let names: string[];
    try {
      names = readdirSync(join(folder, sub));
    } catch {
      continue;
    }
    for (const name of names.filter((it) => it.endsWith('.yaml'))) {
      const path = join(folder, sub, name);
      if (readFileSync(path, 'utf8').startsWith(header)) rmSync(path);
    }
  }
};

const writeFiles = (folder: string, files: readonly RenderedFile[], header: string): void => {
  mkdirSync(folder, { recursive: true });
  removeRendered(folder, header);
  for (const file of files) {
    const path = join(folder, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.text);
  }
};

export const registerDeploy = (program: Command, context: CliContext): void => {
  const deploy = program
    .command('deploy')
    .description('render what runs the project elsewhere (Kubernetes manifests)');
  deploy
    .command('kubernetes')
    .description("render the project's Kubernetes manifests from evented.yaml: one Deployment per role, …")
    .argument('[dir]', 'the project folder, holding evented.yaml', '.')
    .addOption(
      new Option('--out <dir>', 'where the YAML files go (default: deploy/kubernetes in the project)').env(
        'EVENTED_DEPLOY_OUT',
      ),
    )
    .addOption(
      new Option('--stdout', 'print every object as one YAML stream instead of writing files').env(
        'EVENTED_DEPLOY_STDOUT',
      ),
    )
    .addHelpText('after', examples)
    .action(async (dir: string, options: DeployOptions) => {
      const projectDir = findProjectDir(context.cwd, dir);
      const out =
        options.out === undefined
          ? join(projectDir, 'deploy', 'kubernetes')
          : resolve(context.cwd, options.out);
      const shownOut = relative(context.cwd, out) || '.';
      const { readConfigFile, renderKubernetes, manifestsAsYaml, RENDERED_HEADER } =
        await import('../../runtime/index.js');
      const config = await readConfigFile(join(projectDir, 'evented.yaml'));
      const manifests = renderKubernetes(config, { version, out: shownOut });
      const notes = `${manifests.notes.join('\n')}\n`;
      if (options.stdout) {
        context.stdout.write(manifestsAsYaml(manifests));
        context.stderr.write(notes);
        return;
      }
      writeFiles(out, manifests.files, RENDERED_HEADER);
      const summary = manifests.objects.map((o) => `${o.kind}/${o.metadata?.name ?? ''}`).join(', ');
      context.stdout.write(
        `Wrote ${manifests.files.map((f) => f.path).join(', ')} to ${shownOut}/: ${summary}\n${notes}`,
      );
    });
};
