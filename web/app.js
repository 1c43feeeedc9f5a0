// Inbox CRM web app: entry module. No build step; plain modules served as they are.
import { createApi, session } from './js/api.js';
import { initI18n, languageSelect, onLanguageChange, t } from './js/i18n.js';
import { describeError } from './js/errors.js';
import { createLogin } from './js/views/login.js';
import { InboxView } from './js/views/inbox.js';
import { ConversationView } from './js/views/conversation.js';
import { ContactPanel } from './js/views/contact-panel.js';

const POLL_MS = 5000;

const state = {
  api: null,
  me: null,
  channels: new Map(),
  signedIn: false,
  views: null,
  login: null,
  polling: null,
  pollInFlight: false,
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
  if (state.views) {
    state.views.conversation.close();
    state.views.panel.clear();
  }
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
  if (!state.views) state.views = createViews();
  state.views.panel.role = state.me.role;
  renderHeader();
  document.getElementById('app-view').hidden = false;
  if (!currentRoute() && location.pathname !== '/app/') history.replaceState(null, '', '/app/');
  await state.views.inbox.refresh({ reset: true });
  applyRoute();
  state.polling = setInterval(poll, POLL_MS);
}

function createViews() {
  const api = state.api;
  const inbox = new InboxView({ api, onSelect: (id) => navigate(id) });
  const panel = new ContactPanel({
    api,
    role: state.me.role,
    onConversationChanged: (conversation) => {
      inbox.upsert(conversation);
      views.conversation.update(conversation);
    },
    onContactBlocked: () => poll(),
  });
  const conversation = new ConversationView({
    api,
    channels: () => state.channels,
    me: () => state.me,
    onLoaded: (loaded) => {
      if (inbox.get(loaded.id)) inbox.upsert(loaded);
      if (panel.conversation?.id === loaded.id) panel.conversationChanged(loaded);
      else panel.show(loaded);
    },
  });
  const views = { inbox, conversation, panel };

  window.addEventListener('popstate', applyRoute);
  window.addEventListener('focus', poll);
  document.addEventListener('visibilitychange', poll);
  const panes = document.getElementById('panes');
  const toggle = document.getElementById('toggle-contact');
  const setContactOpen = (open) => {
    panes.classList.toggle('contact-open', open);
    toggle.setAttribute('aria-expanded', String(open));
  };
  toggle.addEventListener('click', () => setContactOpen(!panes.classList.contains('contact-open')));
  document.getElementById('close-contact').addEventListener('click', () => {
    setContactOpen(false);
    toggle.focus();
  });
  document.getElementById('back-to-list').addEventListener('click', () => navigate(null));
  onLanguageChange(() => {
    renderHeader();
    inbox.relabel();
    conversation.relabel();
    panel.relabel();
  });
  return views;
}

function renderHeader() {
  if (!state.me) return;
  const { user, workspace, role } = state.me;
  document.getElementById('workspace-name').textContent = workspace.name;
  document.getElementById('user-label').textContent = `${user.name || user.email} · ${t(`role.${role}`)}`;
}

function currentRoute() {
  const match = /^\/app\/c\/([^/]+)\/?$/.exec(location.pathname);
  return match ? decodeURIComponent(match[1]) : null;
}

function navigate(id) {
  const path = id ? `/app/c/${encodeURIComponent(id)}` : '/app/';
  if (location.pathname !== path) history.pushState(null, '', path);
  applyRoute();
  if (id) document.getElementById('conversation-pane').focus({ preventScroll: true });
}

function applyRoute() {
  if (!state.signedIn) return;
  const { inbox, conversation, panel } = state.views;
  const id = currentRoute();
  document.getElementById('panes').dataset.view = id ? 'conversation' : 'list';
  inbox.setSelected(id);
  if (!id) {
    conversation.close();
    panel.clear();
    return;
  }
  if (id === conversation.id) return;
  const summary = inbox.get(id);
  panel.clear();
  if (summary) panel.show(summary);
  conversation.open(id, summary);
}

/** Every few seconds while the tab is visible, and on focus: new webhook messages show up. */
async function poll() {
  if (!state.signedIn || document.visibilityState !== 'visible' || state.pollInFlight) return;
  state.pollInFlight = true;
  try {
    await Promise.all([state.views.inbox.refresh(), state.views.conversation.refresh()]);
  } finally {
    state.pollInFlight = false;
  }
}

boot().catch((error) => {
  console.error(error);
  const boot = document.getElementById('boot');
  if (boot) boot.textContent = 'Inbox CRM could not start. Reload the page.';
});
