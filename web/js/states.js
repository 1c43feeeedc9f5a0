// The designed states every section shares: loading, empty, error with a way out, no permission and
// not found. Each returns one element; put it where the content would be (container.replaceChildren).
import { h } from './dom.js';
import { t } from './i18n.js';
import { describeError } from './errors.js';
import { HOME } from './router.js';

function stateBox(kind, { iconName, title, text, actions = [], role }) {
  return h(
    'div',
    { class: ['state', `state-${kind}`], dataset: { state: kind }, role },
    iconName ? h('img', { src: new URL(`../icons/${iconName}.svg`, import.meta.url).href, alt: '', width: 48, height: 48, class: 'state-icon' }) : null,
    title ? h('p', { class: 'state-title', text: title }) : null,
    text ? h('p', { class: 'state-text', text }) : null,
    actions.length ? h('div', { class: 'state-actions' }, actions.filter(Boolean)) : null,
  );
}

/** A button ({label, onClick}) or a link ({label, href}); the first action is the primary one. */
function action(spec, primary) {
  if (!spec) return null;
  const className = primary ? 'button primary' : 'button secondary';
  if (spec.href) return h('a', { href: spec.href, class: className, text: spec.label });
  return h('button', { type: 'button', class: primary ? 'primary' : 'secondary', text: spec.label, on: { click: spec.onClick } });
}

export function loadingState(text = t('states.loading')) {
  return h('div', { class: ['state', 'state-loading'], dataset: { state: 'loading' }, role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('p', { class: 'state-text', text }));
}

/** Nothing to show yet: say what will be here and, when there is one, the first step. */
export function emptyState({ iconName = 'info', title, text, action: first, secondary } = {}) {
  return stateBox('empty', { iconName, title, text, actions: [action(first, true), action(secondary, false)] });
}

/** Something failed: what, in the user's words, and a way out (retry, and back to the inbox). */
export function errorState({ error, title = t('states.error_title'), onRetry, home = true } = {}) {
  return stateBox('error', {
    iconName: 'alert',
    title,
    text: error ? describeError(error) : t('errors.unexpected'),
    role: 'alert',
    actions: [
      onRetry ? action({ label: t('states.retry'), onClick: onRetry }, true) : null,
      home ? action({ label: t('states.go_inbox'), href: HOME }, !onRetry) : null,
    ],
  });
}

/** The caller's role may not use this: say so, and who can give access. */
export function forbiddenState({ role } = {}) {
  return stateBox('forbidden', {
    iconName: 'lock',
    title: t('states.forbidden_title'),
    text: t('states.forbidden_text', { role: role ? t(`role.${role}`) : '' }),
    actions: [action({ label: t('states.go_inbox'), href: HOME }, true)],
  });
}

export function notFoundState() {
  return stateBox('not-found', {
    iconName: 'compass',
    title: t('states.not_found_title'),
    text: t('states.not_found_text'),
    actions: [action({ label: t('states.go_inbox'), href: HOME }, true)],
  });
}

/** The heading every section page starts with (one h1 per page). */
export function sectionHeader(titleKey, ...extra) {
  return h('div', { class: 'section-header' }, h('h1', { dataset: { i18n: titleKey }, text: t(titleKey) }), ...extra);
}
