import { render } from 'ink';
import type { Writable } from 'node:stream';
import { UpView, type UpViewProps } from './UpView.js';

/** Renders the `evented up` view on a terminal; `update` redraws it with new props, `close` leaves the last frame. */
export const renderUpView = (options: { stdout: Writable; props: UpViewProps }) => {
  const instance = render(<UpView {...options.props} />, {
    stdout: options.stdout as NodeJS.WriteStream,
    patchConsole: false,
    exitOnCtrlC: false,
  });
  return {
    update: (props: UpViewProps) => instance.rerender(<UpView {...props} />),
    close: () => {
      instance.unmount();
      instance.cleanup();
    },
  };
};
