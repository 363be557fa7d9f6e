import { useState } from 'preact/hooks';

/** A payload as JSON, folded to a button until asked for (a table of events stays one line per event). */
export const Payload = ({ payload, size }: { payload: unknown; size: number }) => {
  const [open, setOpen] = useState(false);
  if (payload === undefined) {
    return (
      <span class="muted" title="the project's .proto files do not define this type">
        {size} bytes
      </span>
    );
  }
  return (
    <span class="payload">
      <button
        type="button"
        class="link"
        data-testid="payload-toggle"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
      >
        {open ? '▾ JSON' : '▸ JSON'}
      </button>
      {!open && <code class="preview">{preview(payload)}</code>}
      {open && (
        <pre class="json" data-testid="payload-json">
          {JSON.stringify(payload, null, 2)}
        </pre>
      )}
    </span>
  );
};

/** The payload on one line, cut. */
const preview = (payload: unknown): string => {
  const text = JSON.stringify(payload);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
};
