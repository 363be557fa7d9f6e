import type { JsonValue } from '@bufbuild/protobuf';
import type { Any } from '../../runtime/protocol/gen/google/protobuf/any.js';

/**
 * A spec file once read and checked (parse.ts): ONE target — a domain's business logic, a saga or a projector,
 * named as in evented.yaml — and its cases, each a given/when/then in the project's own message types. The
 * payloads to send are already encoded; the expected ones stay JSON, compared field by field (compare.ts).
 */

export type TargetKind = 'businessLogic' | 'saga' | 'projector';

export const TARGET_KINDS: readonly TargetKind[] = ['businessLogic', 'saga', 'projector'];

export interface Target {
  kind: TargetKind;
  /** The domain (business logic), saga or projector name: its key in evented.yaml. */
  name: string;
}

/** A payload a case expects: its full type name and the fields that matter (proto3 JSON). */
export interface ExpectedPayload {
  typeName: string;
  json: JsonValue;
}

/** A refusal a case expects: a gRPC status code, and optionally its message (a substring or a regex). */
export interface ExpectedError {
  code: number;
  /** The code's name, as the spec or the report shows it (FAILED_PRECONDITION). */
  codeName: string;
  message?: string | RegExp;
}

/** A saga's command: its type and fields; its aggregate's domain and root when the spec states them. */
export interface ExpectedCommand extends ExpectedPayload {
  domain?: string;
  root?: string;
}

/** A saga's book of events: its aggregate's domain and root when stated, and its events in order. */
export interface ExpectedBook {
  domain?: string;
  root?: string;
  events: ExpectedPayload[];
}

interface CaseBase {
  name: string;
  /** Where the case starts in its file. */
  line: number;
  /** The aggregate's UUID. */
  root: string;
  /** The prior events (business logic) or the events handed over (saga, projector), encoded. */
  given: Any[];
  /** The refusal expected instead of an answer. */
  error?: ExpectedError;
}

export interface BusinessLogicCase extends CaseBase {
  kind: 'businessLogic';
  when: Any;
  /** The events expected, in order; undefined when the case expects an error. */
  events?: ExpectedPayload[];
  snapshot?: ExpectedPayload;
}

export interface SagaCase extends CaseBase {
  kind: 'saga';
  domain: string;
  givenFrom: number;
  commands?: ExpectedCommand[];
  books?: ExpectedBook[];
}

export interface ProjectorCase extends CaseBase {
  kind: 'projector';
  domain: string;
  givenFrom: number;
  projection?: ExpectedPayload;
  sequence?: number;
}

export type SpecCase = BusinessLogicCase | SagaCase | ProjectorCase;

export interface SpecFile {
  /** The file's path as shown: relative to the project folder (specs/account/deposits.yaml). */
  path: string;
  target: Target;
  cases: SpecCase[];
}

/** The aggregate a case acts on when it names none. */
export const DEFAULT_ROOT = '00000000-0000-4000-8000-000000000001';

/** The short name of a full type name ("account.v1.Deposit" → "Deposit"). */
export const shortName = (typeName: string): string => typeName.slice(typeName.lastIndexOf('.') + 1);
