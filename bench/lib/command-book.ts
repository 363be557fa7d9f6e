import { CommandBook } from '../../runtime/protocol/gen/evented/evented.js';
import { encodeCommand } from '../../templates/typescript/src/codec.js';
import type { AccountCommand } from '../../templates/typescript/src/domain.js';

/** One command of the sample bank for an account, as the command handler's Handle takes it on the wire. */
export const commandBook = (root: Uint8Array, command: AccountCommand): Buffer =>
  Buffer.from(
    CommandBook.encode({
      cover: { domain: 'account', root: { value: root } },
      pages: [{ sequence: 0, synchronous: false, command: encodeCommand(command) }],
    }).finish(),
  );
