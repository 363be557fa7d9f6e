import { Box, Text } from 'ink';
import { formatRate, type UpViewActivity } from './activity.js';

/**
 * The live view of `evented up`: what was chosen per concern, then each component with its state, address
 * and the last lines of its log. Data only, through props: cli/output/up-reporter.ts keeps it current.
 */

export type ComponentStateName = 'starting' | 'ready' | 'failed' | 'stopping' | 'stopped';

export interface UpViewComponent {
  name: string;
  kind: string;
  state: ComponentStateName;
  address?: string;
  pid?: number;
  log?: string;
  detail?: string;
  /** An instance of `up --instances N`: the partitions it holds now. */
  partitions?: string;
  /** The last lines of its log (user processes). */
  lines?: string[];
}

export interface UpViewChoice {
  concern: string;
  chosen: string;
  why: string;
  instead: string;
}

export interface UpViewProps {
  project: string;
  choices: UpViewChoice[];
  components: UpViewComponent[];
  /** What is happening now ("starting a private RabbitMQ node…"), or the closing summary. */
  status?: string | undefined;
  /** The summary once everything is ready. */
  ready?: string | undefined;
  /** What is wrong once it no longer is (a process that stopped after everything was ready). */
  problem?: string | undefined;
  /** Once ready: the work flowing through (commands/s, events/s) and each subscriber's lag. */
  activity?: UpViewActivity | undefined;
}

const MARK: Record<ComponentStateName, { mark: string; color: string }> = {
  starting: { mark: '◌', color: 'yellow' },
  ready: { mark: '●', color: 'green' },
  failed: { mark: '✗', color: 'red' },
  stopping: { mark: '◌', color: 'gray' },
  stopped: { mark: '○', color: 'gray' },
};

const Component = ({ component, width }: { component: UpViewComponent; width: number }) => {
  const { mark, color } = MARK[component.state];
  const lines = component.lines ?? [];
  const shown = component.state === 'failed' ? lines.slice(-10) : lines.slice(-3);
  return (
    <Box flexDirection="column">
      <Text>
        <Text color={color}>{mark} </Text>
        <Text color={color}>{component.state.padEnd(9)}</Text>
        <Text bold>{component.name.padEnd(width + 2)}</Text>
        <Text>{component.address ?? ''}</Text>
        {component.pid !== undefined && component.pid > 0 ? (
          <Text dimColor>{`  pid ${component.pid}`}</Text>
        ) : null}
      </Text>
      {component.state === 'failed' && component.detail ? (
        <Text color="red">{`    ${component.detail}`}</Text>
      ) : null}
      {component.state === 'ready' && component.partitions !== undefined ? (
        <Text color="cyan">{`    partitions: ${component.partitions || 'none'}`}</Text>
      ) : null}
      {shown.map((line, index) => (
        <Text key={index} dimColor wrap="truncate-end">{`    │ ${line}`}</Text>
      ))}
    </Box>
  );
};

const Activity = ({ activity }: { activity: UpViewActivity }) => {
  const width = Math.max(0, ...activity.subscribers.map((s) => `${s.kind} ${s.name}`.length));
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text>
        <Text bold>{formatRate(activity.commandsPerSecond)}</Text>
        <Text> commands/s </Text>
        <Text bold>{formatRate(activity.eventsPerSecond)}</Text>
        <Text> events/s</Text>
      </Text>
      {activity.subscribers.map((s) => (
        <Text key={`${s.kind}:${s.name}`}>
          {`  ${`${s.kind} ${s.name}`.padEnd(width)}  lag `}
          <Text color={s.lag === 0 ? 'green' : 'yellow'}>{s.lag}</Text>
        </Text>
      ))}
    </Box>
  );
};

export const UpView = ({ project, choices, components, status, ready, problem, activity }: UpViewProps) => {
  const width = Math.max(8, ...components.map((c) => c.name.length));
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>evented up</Text> {project}
      </Text>
      {choices.map((choice) => (
        <Text key={choice.concern}>
          {`  ${choice.concern.padEnd(7)}`}
          <Text bold>{choice.chosen}</Text>
          <Text dimColor>{` (${choice.why}; or ${choice.instead})`}</Text>
        </Text>
      ))}
      <Box flexDirection="column" marginTop={1}>
        {components.map((component) => (
          <Component key={component.name} component={component} width={width} />
        ))}
      </Box>
      {ready && activity ? <Activity activity={activity} /> : null}
      {ready ? (
        <Box marginTop={1}>
          <Text color="green">{ready}</Text>
        </Box>
      ) : null}
      {problem ? (
        <Box marginTop={1}>
          <Text color="red">{problem}</Text>
        </Box>
      ) : null}
      {status ? (
        <Box marginTop={ready || problem ? 0 : 1}>
          <Text dimColor>{status}</Text>
        </Box>
      ) : null}
    </Box>
  );
};
