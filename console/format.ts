/** How the pages write times, types and aggregates: short where a table needs it, whole in a title. */

/** "account.v1.Deposited" from "type.googleapis.com/account.v1.Deposited" or "account.v1.Deposited". */
export const typeName = (type: string): string => type.slice(type.lastIndexOf('/') + 1);

/** "Deposited": the last part of a type name. */
export const shortType = (type: string): string => {
  const name = typeName(type);
  return name.slice(name.lastIndexOf('.') + 1);
};

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** "14:03:07.123" (local time): a table's time; the date is in the title. */
export const clock = (iso: string | undefined): string => {
  if (!iso) return '';
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  return `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}.${pad(at.getMilliseconds(), 3)}`;
};

/** "2026-12-03 14:03:07" (local time). */
export const dateTime = (iso: string | undefined): string => {
  if (!iso) return '';
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${clock(iso).slice(0, 8)}`;
};

/** "8a1f…c3d2": a UUID short enough for a table; the whole is in the title. */
export const shortId = (id: string): string => (id.length > 13 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id);

/** "3 s", "2 min 5 s", "1 h 4 min": an ETA. */
export const duration = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
};

export const rate = (perSecond: number | undefined): string =>
  perSecond === undefined ? '' : perSecond >= 10 ? `${Math.round(perSecond)}/s` : `${perSecond.toFixed(1)}/s`;
