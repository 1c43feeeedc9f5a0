// Inbox CRM web app: entry module. No build step; plain modules served as they are.
// The shell: sign-in, the navigation between sections (js/router.js, js/sections/*), polling.
import { createApi, session } from './js/api.js';
import { initI18n, languageSelect, onLanguageChange, t } from './js/i18n.js';
import { describeError } from './js/errors.js';
import { h } from './js/dom.js';
import { createLogin } from './js/views/login.js';
import { isAppLinkClick, registeredSections, resolve } from './js/router.js';
import { errorState, forbiddenState, loadingState, notFoundState } from './js/states.js';
import './js/sections/index.js';

const POLL_MS = 5000;

const state = {
  api: null,
  me: null,
  channels: new Map(),
  signedIn: false,
  login: null,
  polling: null,
  pollInFlight: false,
  mounted: new Map(), // section id -> controller
  containers: new Map(), // section id -> element
  current: null, // the section shown
  badge: 0, // unread conversations (tab title)
  wired: false,
};

async function loadConfig() {
  // config.json is replaced at deploy time with {"apiBase": "https://<api id>.execute-api…"}.
  try {
    const response = await fetch(new URL('./config.json', import.meta.url), { cache: 'no-cache' });
    return response.ok ? await response.json() : {};
  } catch {
    return {};
  }
}

async function boot() {
  await initI18n();
  const config = await loadConfig();
  state.api = createApi({
    baseUrl: config.apiBase || '',
    getToken: () => session.token(),
    onUnauthorized: () => {
      if (state.signedIn) signOut(t('login.expired'));
    },
  });
  state.login = createLogin({ api: state.api, onToken: signIn });
  document.getElementById('login-lang').append(languageSelect('login-language'));
  document.getElementById('app-lang').append(languageSelect('app-language'));
  document.getElementById('nav-lang').append(languageSelect('nav-language'));
  document.getElementById('logout').addEventListener('click', () => signOut());
  document.getElementById('boot').remove();
  if (session.token()) await enter();
  else showLogin();
}

function showLogin(message) {
  document.getElementById('app-view').hidden = true;
  document.title = 'Inbox CRM';
  state.login.show(message);
}

async function signIn(token) {
  session.save(token);
  await enter({ fromLogin: true });
}

function signOut(message) {
  state.signedIn = false;
  session.clear();
  clearInterval(state.polling);
  state.polling = null;
  // Another user may sign in next: sections built by script start again from nothing; the inbox,
  // whose markup is index.html's, forgets what it showed and stays wired (signIn() below).
  for (const controller of state.mounted.values()) controller.signOut?.();
  for (const [id, container] of state.containers) {
    container.hidden = true;
    if (!state.mounted.get(id)?.persistent) {
      state.mounted.delete(id);
      if (!container.id.startsWith('section-inbox')) container.remove();
      state.containers.delete(id);
    }
  }
  state.current = null;
  state.badge = 0;
  showLogin(message);
}

async function enter({ fromLogin = false } = {}) {
  try {
    state.me = await state.api.get('/v1/me');
  } catch (error) {
    session.clear();
    const message = error.status === 401 ? t(fromLogin ? 'login.invalid' : 'login.expired') : describeError(error);
    showLogin(message);
    return;
  }
  try {
    const channels = await state.api.get('/v1/channels');
    state.channels = new Map(channels.items.map((channel) => [channel.id, channel]));
  } catch {
    state.channels = new Map();
  }
  state.signedIn = true;
  state.login.hide();
  if (!state.wired) wire();
  renderHeader();
  renderNav();
  document.getElementById('app-view').hidden = false;
  // The inbox is everyone's home and keeps the tab title's unread count: it loads even when the URL
  // names another section.
  const inbox = registeredSections().find((section) => section.id === 'inbox');
  if (allowed(inbox)) mounted(inbox, containerFor('inbox'))?.signIn?.();
  await applyRoute();
  state.polling = setInterval(poll, POLL_MS);
}

// ------------------------------------------------------------------ permissions and navigation

function can(action) {
  return Boolean(state.me?.permissions?.includes(action));
}

function allowed(section) {
  return section.requires.some(can);
}

function navigate(path, { replace = false } = {}) {
  const target = new URL(path, location.origin);
  if (location.pathname + location.search !== target.pathname + target.search) {
    history[replace ? 'replaceState' : 'pushState'](null, '', target.pathname + target.search);
  }
  closeMenu();
  return applyRoute();
}

const context = {
  get api() {
    return state.api;
  },
  me: () => state.me,
  can,
  channels: () => state.channels,
  navigate,
  poll: () => poll(),
  setBadge(count) {
    state.badge = count;
    renderTitle();
  },
};

/** Shows the section the URL names, or the state saying why it cannot be shown. */
async function applyRoute() {
  if (!state.signedIn) return;
  const route = resolve(location.pathname);
  if (route.redirect) {
    history.replaceState(null, '', route.redirect);
    return applyRoute();
  }
  const section = route.section;
  const id = section ? section.id : '_state';
  if (state.current && state.current !== id) state.mounted.get(state.current)?.hide?.();
  state.current = id;
  for (const [key, container] of state.containers) container.hidden = key !== id;
  renderNav();
  if (!section || !allowed(section)) {
    const container = containerFor('_state');
    container.hidden = false;
    container.replaceChildren(section ? forbiddenState({ role: state.me.role }) : notFoundState());
    container.dataset.sectionLabel = section ? section.label : 'states.not_found_title';
    renderTitle();
    return;
  }
  const container = containerFor(section.id);
  container.hidden = false;
  renderTitle();
  const controller = mounted(section, container);
  await controller?.show(route.path);
}

/** The section's controller, mounting it the first time; null (and an error state) if mounting failed. */
function mounted(section, container) {
  let controller = state.mounted.get(section.id);
  if (controller) return controller;
  try {
    if (!container.hasChildNodes()) container.append(loadingState());
    controller = section.mount(container, context);
    state.mounted.set(section.id, controller);
    return controller;
  } catch (error) {
    console.error(error);
    container.replaceChildren(errorState({ error, onRetry: () => location.reload() }));
    return null;
  }
}

function containerFor(id) {
  let container = state.containers.get(id);
  if (!container) {
    container = document.getElementById(`section-${id}`) || h('div', { class: 'section section-page', id: `section-${id}` });
    container.dataset.section = id;
    if (!container.isConnected) document.getElementById('sections').append(container);
    state.containers.set(id, container);
  }
  return container;
}

// ------------------------------------------------------------------ header, navigation, title

function renderHeader() {
  if (!state.me) return;
  const { user, workspace, role } = state.me;
  document.getElementById('workspace-name').textContent = workspace.name;
  const label = `${user.name || user.email} · ${t(`role.${role}`)}`;
  document.getElementById('user-label').textContent = label;
  document.getElementById('nav-user').textContent = label;
}

function renderNav() {
  const list = document.getElementById('nav-list');
  if (!state.me) return;
  const items = registeredSections()
    .filter(allowed)
    .map((section) =>
      h(
        'li',
        {},
        h(
          'a',
          { href: `/app/${section.id}`, class: 'nav-link', dataset: { section: section.id }, 'aria-current': state.current === section.id ? 'page' : null },
          h('img', { src: `/icons/${section.icon}.svg`, alt: '', width: 20, height: 20, class: 'nav-icon' }),
          h('span', { class: 'nav-label', text: t(section.label) }),
          section.id === 'inbox' && state.badge ? h('span', { class: 'badge nav-badge', text: state.badge > 99 ? '99+' : String(state.badge) }) : null,
        ),
      ),
    );
  list.replaceChildren(...items);
  const current = registeredSections().find((section) => section.id === state.current);
  document.getElementById('nav-current').textContent = current ? t(current.label) : t('nav.menu');
}

function renderTitle() {
  const section = registeredSections().find((known) => known.id === state.current);
  const label = section ? t(section.label) : t(state.containers.get('_state')?.dataset.sectionLabel || 'nav.inbox');
  document.title = `${state.badge ? `(${state.badge}) ` : ''}${label} · Inbox CRM`;
  const badge = document.querySelector('.nav-link[data-section="inbox"] .nav-badge');
  if (Boolean(badge) !== Boolean(state.badge) || (badge && badge.textContent !== String(state.badge))) renderNav();
}

function closeMenu() {
  const toggle = document.getElementById('nav-toggle');
  toggle.setAttribute('aria-expanded', 'false');
  document.getElementById('main-nav').classList.remove('open');
}

function wire() {
  state.wired = true;
  window.addEventListener('popstate', () => applyRoute());
  window.addEventListener('focus', () => poll());
  document.addEventListener('visibilitychange', () => poll());
  // Plain /app/ links anywhere (navigation, sections, empty states) change section without a reload.
  document.addEventListener('click', (event) => {
    const path = isAppLinkClick(event);
    if (!path || !state.signedIn) return;
    event.preventDefault();
    navigate(path);
  });
  const toggle = document.getElementById('nav-toggle');
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    document.getElementById('main-nav').classList.toggle('open', open);
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && toggle.getAttribute('aria-expanded') === 'true') {
      closeMenu();
      toggle.focus();
    }
  });
  onLanguageChange(() => {
    renderHeader();
    renderNav();
    renderTitle();
    for (const controller of state.mounted.values()) controller.relabel?.();
    const shown = state.containers.get('_state');
    if (shown && state.current === '_state') applyRoute();
  });
}

/** Every few seconds while the tab is visible, and on focus: new webhook messages show up. */
async function poll() {
  if (!state.signedIn || document.visibilityState !== 'visible' || state.pollInFlight) return;
  state.pollInFlight = true;
  try {
    await Promise.all(
      [...state.mounted].map(([id, controller]) => controller.poll?.({ visible: id === state.current })),
    );
  } finally {
    state.pollInFlight = false;
  }
}

boot().catch((error) => {
  console.error(error);
  const boot = document.getElementById('boot');
  if (boot) boot.textContent = 'Inbox CRM could not start. Reload the page.';
});

