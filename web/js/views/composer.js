// The reply box, kept apart from the rest: POST /v1/conversations/{id}/messages with {"text"} (and,
// in a Page comment conversation, "reply": public | private). An Idempotency-Key per draft makes a
// retried send answer with the same message. While the route does not exist the API answers 404
// for the route itself, and the box says that sending is not available yet.
import { h } from '../dom.js';
import { t, onLanguageChange } from '../i18n.js';
import { describeError } from '../errors.js';
import { replyWindowState } from '../format.js';
import { MAX_UPLOAD_BYTES, uploadFile } from '../uploads.js';

const MISSING_ROUTE = new Set(['route_not_found', 'not_found_route']);

function newKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export function createComposer({ api, onSent }) {
  let conversation = null;
  let sending = false;
  let draftKey = newKey();

  const label = h('label', { for: 'composer-text', class: 'visually-hidden' });
  const textarea = h('textarea', { id: 'composer-text', rows: 2, maxlength: 4096, dir: 'auto' });
  const button = h('button', { type: 'submit', class: 'primary' });
  const fileInput = h('input', { type: 'file', class: 'visually-hidden', tabindex: '-1', 'aria-hidden': 'true', on: { change: attach } });
  const attachButton = h('button', { type: 'button', class: 'secondary attach', on: { click: () => fileInput.click() } });
  const notice = h('p', { class: 'composer-notice', role: 'status', hidden: true });
  const legend = h('legend', { class: 'visually-hidden' });
  const modeLabels = {};
  const modes = h(
    'fieldset',
    { class: 'reply-mode', hidden: true },
    legend,
    ['public', 'private'].map((mode) => {
      modeLabels[mode] = h('span');
      return h('label', {}, h('input', { type: 'radio', name: 'reply', value: mode, checked: mode === 'public' }), modeLabels[mode]);
    }),
  );
  const form = h('form', { class: 'composer', on: { submit } }, label, modes, h('div', { class: 'composer-row' }, fileInput, attachButton, textarea, button), notice);

  textarea.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  textarea.addEventListener('input', () => {
    draftKey = newKey(); // another text is another message
    refresh();
  });
  modes.addEventListener('change', () => {
    draftKey = newKey();
    refresh();
  });

  function replyMode() {
    return conversation?.kind === 'comment' ? new FormData(form).get('reply') || 'public' : null;
  }

  function say(text, kind) {
    notice.textContent = text || '';
    notice.dataset.kind = kind || 'info';
    notice.hidden = !text;
  }

  function submit(event) {
    event.preventDefault();
    const text = textarea.value.trim();
    if (text) send({ text });
  }

  /** The chosen file: uploaded, then sent as an attachment (with the typed text, if any). */
  async function attach() {
    const file = fileInput.files?.[0];
    fileInput.value = '';
    if (!file || sending || !conversation) return;
    if (file.size > MAX_UPLOAD_BYTES) {
      say(t('composer.too_large'), 'error');
      return;
    }
    const id = conversation.id;
    const text = textarea.value.trim();
    await send({ file, text }, id);
  }

  async function send({ text, file }, id = conversation?.id) {
    if (sending || !conversation || id !== conversation.id) return;
    sending = true;
    refresh();
    say(file ? t('composer.uploading') : '');
    const body = text ? { text } : {};
    if (replyMode()) body.reply = replyMode();
    try {
      if (file) {
        const upload = await uploadFile(api, file);
        body.attachments = [{ type: upload.type, url: upload.url }];
        draftKey = newKey(); // another attachment is another message
        say('');
      }
      const sent = await api.post(`/v1/conversations/${encodeURIComponent(id)}/messages`, body, { headers: { 'Idempotency-Key': draftKey } });
      textarea.value = '';
      draftKey = newKey();
      onSent?.(id, sent);
    } catch (error) {
      if (error.status === 404 && MISSING_ROUTE.has(error.code)) say(t('composer.unavailable'), 'warning');
      else say(describeError(error), 'error');
    } finally {
      sending = false;
      refresh();
    }
  }

  function refresh() {
    // A public answer to a comment needs no messaging window; everything else does.
    const open = conversation ? replyMode() === 'public' || replyWindowState(conversation).open : false;
    label.textContent = t('composer.label');
    legend.textContent = t('composer.reply_as');
    modeLabels.public.textContent = t('composer.reply_public');
    modeLabels.private.textContent = t('composer.reply_private');
    modes.hidden = conversation?.kind !== 'comment';
    button.textContent = sending ? t('composer.sending') : t('composer.send');
    attachButton.textContent = t('composer.attach');
    attachButton.disabled = !open || sending;
    textarea.placeholder = open ? t('composer.placeholder') : t('composer.closed_placeholder');
    textarea.disabled = !open || sending;
    button.disabled = !open || sending || !textarea.value.trim();
  }

  onLanguageChange(refresh);
  refresh();

  return {
    element: form,
    setConversation(next) {
      if (next?.id !== conversation?.id) {
        textarea.value = '';
        draftKey = newKey();
        say('');
      }
      conversation = next;
      refresh();
    },
  };
}
