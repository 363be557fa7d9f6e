import { describe, expect, it } from 'vitest';
import { partitionsByPid } from '../../runtime/up/instance-partitions.js';

describe('partitionsByPid (what up --instances shows each instance holding)', () => {
  it('groups the live claims by process and subscriber, as ranges; expired claims and other ids are left out', () => {
    const claim = (group: string, partition: number, owner: string, expiresAt = 2000) => ({
      group,
      partition,
      owner,
      expiresAt,
      epoch: 1,
    });
    const shown = partitionsByPid(
      [
        claim('projector:accounts', 0, 'vm:100:ab12cd'),
        claim('projector:accounts', 1, 'vm:100:ab12cd'),
        claim('projector:accounts', 2, 'vm:100:ab12cd'),
        claim('projector:accounts', 5, 'vm:100:ab12cd'),
        claim('saga:transfers', 3, 'vm:100:ab12cd'),
        claim('projector:accounts', 3, 'vm:200:ef34ab'),
        claim('projector:accounts', 4, 'vm:200:ef34ab', 500), // expired
        claim('projector:accounts', 6, 'not a process id'),
      ],
      1000,
    );
    expect([...shown]).toEqual([
      [100, 'accounts 0-2,5; transfers 3'],
      [200, 'accounts 3'],
    ]);
  });
});
