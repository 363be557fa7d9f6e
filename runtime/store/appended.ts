/**
 * The listeners of EventStore.onAppended, for every adapter: `announce` after a commit that added events; a
 * listener that throws does not undo the commit nor keep the others from hearing of it.
 */
export interface AppendedListeners {
  onAppended(listener: () => void): () => void;
  announce(): void;
}

export const createAppendedListeners = (): AppendedListeners => {
  const listeners = new Set<() => void>();
  return {
    onAppended(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    announce() {
      for (const listener of listeners) {
        try {
          listener();
        } catch {
          // A listener's failure is its own; the commit stands.
        }
      }
    },
  };
};
