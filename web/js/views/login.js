// Login: paste a token (Cognito ID token in AWS, `inbox-local token` locally). The local stack also
// offers "Entrar como demo" per role through GET /_local/token; elsewhere that answers 404 (or
// nothing at all) and the buttons stay hidden.
import { h } from '../dom.js';
import { t, onLanguageChange } from '../i18n.js';

export function createLogin({ api, onToken }) {
  const view = document.getElementById('login-view');
  const form = document.getElementById('login-form');
  const input = document.getElementById('token-input');
  const problem = document.getElementById('login-error');
  const demo = document.getElementById('demo-login');
  const demoButtons = document.getElementById('demo-buttons');
  let roles = [];
  let probed = false;

  function showError(message) {
    problem.textContent = message || '';
    problem.hidden = !message;
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = input.value.trim().replace(/^bearer\s+/i, '');
    if (!token) {
      showError(t('login.token_missing'));
      input.focus();
      return;
    }
    onToken(token);
  });

  function renderDemo() {
    demo.hidden = roles.length === 0;
    demoButtons.replaceChildren(
      ...roles.map((role) =>
        h('button', { type: 'button', class: 'secondary', dataset: { role }, on: { click: () => demoLogin(role) } }, t('login.demo_as', { role: t(`role.${role}`) })),
      ),
    );
  }

  async function demoLogin(role) {
    showError('');
    try {
      const answer = await api.request('GET', '/_local/token', { auth: false, query: { role } });
      onToken(answer.token);
    } catch {
      showError(t('login.demo_failed'));
    }
  }

  async function probe() {
    if (probed) return;
    probed = true;
    try {
      const answer = await api.request('GET', '/_local/token', { auth: false });
      roles = Array.isArray(answer?.roles) ? answer.roles : [];
    } catch {
      roles = []; // 404 outside the local stack: no demo logins
    }
    renderDemo();
  }

  onLanguageChange(renderDemo);

  return {
    show(message) {
      view.hidden = false;
      input.value = '';
      showError(message);
      probe();
      input.focus();
    },
    hide() {
      view.hidden = true;
      showError('');
    },
    showError,
  };
}
