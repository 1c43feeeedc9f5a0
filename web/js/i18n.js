// Strings live in i18n/<lang>.json (flat "area.key" names, the same keys in every language).
// Spanish by default; the choice is remembered in localStorage.

export const LANGUAGES = ['es', 'en'];
const STORAGE_KEY = 'inbox-crm:lang';
const LOCALES = { es: 'es-MX', en: 'en-US' };

const TRANSLATED_ATTRIBUTES = [
  ['placeholder', 'i18nPlaceholder'],
  ['aria-label', 'i18nAriaLabel'],
  ['title', 'i18nTitle'],
];

const dictionaries = {};
let current = 'es';
const listeners = new Set();

export async function initI18n() {
  const loaded = await Promise.all(
    LANGUAGES.map(async (lang) => {
      const response = await fetch(new URL(`../i18n/${lang}.json`, import.meta.url), { cache: 'no-cache' });
      return [lang, await response.json()];
    }),
  );
  for (const [lang, dictionary] of loaded) dictionaries[lang] = dictionary;
  let stored = null;
  try {
    stored = localStorage.getItem(STORAGE_KEY);
  } catch {
    // storage may be disabled: stay in Spanish
  }
  current = LANGUAGES.includes(stored) ? stored : 'es';
  document.documentElement.lang = current;
  applyTranslations(document);
}

export function language() {
  return current;
}

export function locale() {
  return LOCALES[current];
}

/** t('inbox.unread', {count: 3}); a missing key falls back to Spanish, then to the key itself. */
export function t(key, params) {
  let text = dictionaries[current]?.[key] ?? dictionaries.es?.[key] ?? key;
  if (params) text = text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
  return text;
}

export function setLanguage(lang) {
  if (!LANGUAGES.includes(lang) || lang === current) return;
  current = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // not remembered, still switched
  }
  document.documentElement.lang = lang;
  applyTranslations(document);
  for (const listener of listeners) listener(lang);
}

export function onLanguageChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Static markup names its strings: data-i18n (text), data-i18n-placeholder, -aria-label, -title. */
export function applyTranslations(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const [attribute, data] of TRANSLATED_ATTRIBUTES) {
    for (const el of root.querySelectorAll(`[data-i18n-${attribute}]`)) el.setAttribute(attribute, t(el.dataset[data]));
  }
}

/** A <select> switching the language, labelled, kept in sync with the current language. */
export function languageSelect(id) {
  const select = document.createElement('select');
  select.id = id;
  select.className = 'lang-select';
  for (const lang of LANGUAGES) {
    const option = document.createElement('option');
    option.value = lang;
    option.textContent = t(`language.${lang}`);
    select.append(option);
  }
  select.value = current;
  select.addEventListener('change', () => setLanguage(select.value));
  onLanguageChange((lang) => {
    select.value = lang;
    for (const option of select.options) option.textContent = t(`language.${option.value}`);
  });
  const label = document.createElement('label');
  label.htmlFor = id;
  label.className = 'visually-hidden';
  label.dataset.i18n = 'language.label';
  label.textContent = t('language.label');
  const wrapper = document.createElement('span');
  wrapper.className = 'lang-switch';
  wrapper.append(label, select);
  return wrapper;
}
