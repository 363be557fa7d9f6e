/**
 * Light or dark: the system's choice (prefers-color-scheme, in the style sheet) until the user picks one with the
 * toggle, which is remembered in localStorage and set as <html data-theme>.
 */
export type Theme = 'light' | 'dark';

const KEY = 'evented.console.theme';

const systemTheme = (): Theme => (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');

const stored = (): Theme | undefined => {
  try {
    const value = localStorage.getItem(KEY);
    return value === 'light' || value === 'dark' ? value : undefined;
  } catch {
    return undefined; // storage refused (a private window): the system's choice
  }
};

/** The theme in force, applied to the document. */
export const applyStoredTheme = (): Theme => {
  const theme = stored();
  if (theme) document.documentElement.dataset.theme = theme;
  return theme ?? systemTheme();
};

export const chooseTheme = (theme: Theme): void => {
  document.documentElement.dataset.theme = theme;
  try {
    localStorage.setItem(KEY, theme);
  } catch {
    // not remembered, but applied
  }
};
