import { useState } from 'preact/hooks';
import type { ApiError } from '../../runtime/console/api.js';
import { asApiError } from '../api-client.js';
import { ErrorBox } from './error-box.js';

/** An action waiting for its confirmation: the sentence that names exactly what will happen, and the doing. */
export interface PendingAction {
  question: string;
  /** The button's word ("Retry", "Skip", "Rebuild"). */
  verb: string;
  run: () => Promise<unknown>;
}

/**
 * The confirmation every mutating action goes through: nothing is sent before the user says yes; a failure is
 * shown in the dialog (and the dialog stays), a success closes it.
 */
export const ConfirmDialog = ({ action, onClose }: { action: PendingAction; onClose: () => void }) => {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await action.run();
      onClose();
    } catch (failure) {
      setError(asApiError(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="backdrop">
      <div
        class="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="confirm-question"
        data-testid="confirm-dialog"
      >
        <p id="confirm-question" data-testid="confirm-question">
          {action.question}
        </p>
        <ErrorBox error={error} />
        <div class="buttons">
          <button type="button" onClick={onClose} data-testid="confirm-cancel">
            Cancel
          </button>
          <button
            type="button"
            class="primary"
            disabled={busy}
            onClick={() => void confirm()}
            data-testid="confirm-ok"
          >
            {busy ? `${action.verb}…` : action.verb}
          </button>
        </div>
      </div>
    </div>
  );
};
