import type { ApiError } from '../../runtime/console/api.js';

/** An API error as the server said it: what was wrong, and how to fix it. */
export const ErrorBox = ({ error }: { error: ApiError | undefined }) =>
  error ? (
    <div class="error" role="alert" data-testid="api-error">
      <strong>{error.error}</strong>
      {error.hint && <div class="hint">{error.hint}</div>}
    </div>
  ) : null;
