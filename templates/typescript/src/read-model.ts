import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EventBook } from './gen/evented/evented.js';
import { decodeEvent, uuidFromBytes } from './codec.js';
import { evolve, initialAccount, type Account } from './domain.js';

/**
 * The accounts read model: every account's owner and balance, in a JSON file of its own. Each account also
 * remembers the last event sequence applied to it, saved in the same write, so that an event delivered twice
 * (evented delivers at least once) is applied once.
 */
export interface AccountView extends Account {
  /** The sequence of the last event applied. */
  sequence: number;
}

export class AccountsReadModel {
  private accounts: Record<string, AccountView>;

  constructor(private readonly path: string) {
    try {
      this.accounts = JSON.parse(readFileSync(path, 'utf8')) as Record<string, AccountView>;
    } catch {
      this.accounts = {};
    }
  }

  get(id: string): AccountView | undefined {
    return this.accounts[id];
  }

  /** Applies the pages not applied yet; returns how many were new. */
  apply(book: EventBook): number {
    const id = uuidFromBytes(book.cover?.root?.value ?? new Uint8Array(16));
    let view = this.accounts[id] ?? { ...initialAccount, sequence: -1 };
    let applied = 0;
    for (const page of book.pages) {
      if (page.num === undefined || page.num <= view.sequence) continue;
      const event = page.Event && decodeEvent(page.Event);
      view = { ...(event ? evolve(view, event) : view), sequence: page.num };
      applied += 1;
    }
    this.accounts[id] = view;
    return applied;
  }

  /** Forgets every account (before a rebuild replays every event). */
  reset(): void {
    this.accounts = {};
  }

  /** Writes the file atomically (a crash leaves the old or the new version, never half of one). */
  save(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    writeFileSync(`${this.path}.tmp`, JSON.stringify(this.accounts));
    renameSync(`${this.path}.tmp`, this.path);
  }
}
