import { basename } from 'node:path';
import { isValidDomainName } from '../../runtime/protocol/validate.js';
import { UsageError } from '../errors.js';
import type { Prompter } from './prompt.js';
import { listLanguages, loadTemplate, type Template } from './template.js';

/** The values substituted into a template, and the rules they must follow. */
export interface ScaffoldVariables {
  /** The evented domain (aggregate type) name, as in evented.yaml's `domains:`. */
  domain: string;
  /** The project name: evented.yaml's `name:` and the package manifest's name. */
  name: string;
}

export const DOMAIN_RULE =
  "a domain name starts with a letter or digit and has only letters, digits, '_', '.' and '-' (at most 128 characters)";

export const NAME_RULE =
  "a project name starts with a lowercase letter or digit and has only lowercase letters, digits, '_', '.' and '-' (at most 214 characters)";

/** A project name that npm, evented.yaml and file systems all accept. */
const PROJECT_NAME = /^[a-z0-9][a-z0-9_.-]{0,213}$/;

/** The problem with a domain name, or undefined when it is fine. */
export const domainProblem = (domain: string): string | undefined =>
  isValidDomainName(domain) ? undefined : DOMAIN_RULE;

export const nameProblem = (name: string): string | undefined =>
  PROJECT_NAME.test(name) ? undefined : NAME_RULE;

/** A project name made from a folder's name: "My Bank" → "my-bank" (or "evented-project" if nothing is left). */
export const projectNameFrom = (folder: string): string => {
  const name = folder
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .slice(0, 214)
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return name === '' ? 'evented-project' : name;
};

/** The template's default for a variable, for a scaffold in a folder named `folder`. */
export const defaultOf = (template: Template, key: keyof ScaffoldVariables, folder: string): string =>
  template.variables[key].default.replaceAll('{{folder}}', projectNameFrom(folder));

export const DEFAULT_LANG = 'typescript';

/**
 * The template and the variables: flags first (checked before anything is asked); on a terminal, questions
 * for the missing ones; otherwise the template's defaults.
 */
export const chooseVariables = async (
  options: { lang?: string; domain?: string; name?: string },
  templatesDir: string,
  target: string,
  prompter: Prompter | undefined,
): Promise<{ template: Template; vars: ScaffoldVariables }> => {
  const languages = listLanguages(templatesDir);
  const langProblem = (lang: string): string | undefined =>
    languages.includes(lang)
      ? undefined
      : `there is no such template; the languages are: ${languages.join(', ')}`;
  const check = (
    flag: string,
    value: string | undefined,
    problem: (v: string) => string | undefined,
    example: string,
  ) => {
    const issue = value === undefined ? undefined : problem(value);
    if (issue) throw new UsageError(`invalid ${flag} "${value}": ${issue}`, `for example ${flag} ${example}`);
  };
  check('--lang', options.lang, langProblem, DEFAULT_LANG);
  check('--domain', options.domain, domainProblem, 'ledger');
  check('--name', options.name, nameProblem, 'bank');

  const lang =
    options.lang ??
    (prompter && languages.length > 1
      ? await prompter.ask('Language', DEFAULT_LANG, langProblem)
      : DEFAULT_LANG);
  const template = loadTemplate(templatesDir, lang);
  const fallbackDomain = defaultOf(template, 'domain', basename(target));
  const domain =
    options.domain ??
    (prompter ? await prompter.ask('Domain name', fallbackDomain, domainProblem) : fallbackDomain);
  const name = options.name ?? defaultOf(template, 'name', basename(target));
  if (nameProblem(name)) throw new UsageError(`cannot make a project name of "${name}"`, 'pass --name');
  return { template, vars: { domain, name } };
};
