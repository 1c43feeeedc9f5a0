// The open conversation: header (channel, reply window), messages oldest → newest, older pages on
// demand, and the composer. Polling merges new, edited and re-statused messages in place.
import { h, icon, reconcile, safeUrl } from '../dom.js';
import { t } from '../i18n.js';
import { channelIcon, channelName, conversationTitle, dayKey, dayLabel, replyWindowState } from '../format.js';
import { describeError } from '../errors.js';
import { messageSignature, renderMessage } from './message.js';
import { registrationMarker } from './markers.js';
import { createComposer } from './composer.js';
import { createHeaderActions } from './header-actions.js';

const PAGE = 50;
const STICK_TO_BOTTOM_PX = 80;

function byTime(a, b) {
  return Date.parse(a.sent_at) - Date.parse(b.sent_at);
}

export class ConversationView {
  constructor({ api, channels, me, onLoaded }) {
    this.api = api;
    this.channels = channels;
    this.onLoaded = onLoaded;
    this.empty = document.getElementById('conversation-empty');
    this.view = document.getElementById('conversation-view');
    this.avatar = document.getElementById('conversation-avatar');
    this.title = document.getElementById('conversation-title');
    this.subtitle = document.getElementById('conversation-subtitle');
    this.windowNote = document.getElementById('reply-window');
    this.scroller = document.getElementById('messages-scroller');
    this.list = document.getElementById('messages');
    this.older = document.getElementById('load-older');
    this.problem = document.getElementById('conversation-problem');
    this.composer = createComposer({ api, onSent: () => this.refresh() });
    document.getElementById('composer-slot').append(this.composer.element);
    this.actions = createHeaderActions({
      api,
      me,
      onChanged: (conversation) => {
        this.update(conversation);
        this.onLoaded?.(conversation);
      },
    });
    document.getElementById('toggle-contact').before(this.actions.element);
    this.older.addEventListener('click', () => this.loadOlder());
    this.reset(null);
  }

  reset(id) {
    this.id = id;
    this.conversation = null;
    this.messages = [];
    this.olderCursor = null;
    this.nodes = new Map();
    this.seq = (this.seq || 0) + 1;
  }

  close() {
    this.reset(null);
    this.view.hidden = true;
    this.empty.hidden = false;
    this.composer.setConversation(null);
    this.actions.setConversation(null);
  }

  async open(id, summary) {
    this.reset(id);
    this.empty.hidden = true;
    this.view.hidden = false;
    this.problem.hidden = true;
    this.list.replaceChildren(h('li', { class: 'loading', text: t('conversation.loading') }));
    this.older.hidden = true;
    if (summary) {
      this.conversation = summary;
      this.renderHeader();
    }
    const seq = this.seq;
    try {
      const [conversation, page] = await Promise.all([
        this.api.get(`/v1/conversations/${encodeURIComponent(id)}`),
        this.api.get(`/v1/conversations/${encodeURIComponent(id)}/messages`, { limit: PAGE }),
      ]);
      if (seq !== this.seq) return;
      this.conversation = (await this.markRead(conversation)) || conversation;
      if (seq !== this.seq) return;
      this.messages = page.items;
      this.olderCursor = page.next_cursor;
      this.renderHeader();
      this.renderMessages({ toBottom: true });
      this.onLoaded?.(this.conversation);
    } catch (error) {
      if (seq !== this.seq || error.status === 401) return;
      this.list.replaceChildren();
      this.problem.textContent = error.status === 404 ? t('conversation.not_found') : describeError(error);
      this.problem.hidden = false;
    }
  }

  /** Polling: the conversation (window, contact) and the newest page, merged into what is shown. */
  async refresh() {
    if (!this.id || !this.conversation) return;
    const seq = this.seq;
    try {
      let [conversation, page] = await Promise.all([
        this.api.get(`/v1/conversations/${encodeURIComponent(this.id)}`),
        this.api.get(`/v1/conversations/${encodeURIComponent(this.id)}/messages`, { limit: PAGE }),
      ]);
      if (seq !== this.seq) return;
      // New messages while the conversation is open on a visible tab are read at once.
      if (conversation.unread_count) conversation = (await this.markRead(conversation)) || conversation;
      if (seq !== this.seq) return;
      if (JSON.stringify(conversation) !== JSON.stringify(this.conversation)) {
        this.conversation = conversation;
        this.renderHeader();
      }
      if (this.merge(page)) this.renderMessages();
      this.onLoaded?.(conversation);
    } catch {
      // the next poll tries again; the inbox shows connection problems
    }
  }

  /** POST …/read: the conversation with its unread count cleared, or null when that failed. */
  async markRead(conversation) {
    if (!conversation.unread_count) return null;
    try {
      return await this.api.post(`/v1/conversations/${encodeURIComponent(conversation.id)}/read`);
    } catch {
      return null; // the badge stays; the next open or poll tries again
    }
  }

  /** The conversation changed here (a contact linked or unlinked): redraw the header at once. */
  update(conversation) {
    if (conversation.id !== this.id) return;
    this.conversation = conversation;
    this.renderHeader();
  }

  merge(page) {
    const known = new Map(this.messages.map((message) => [message.id, message]));
    const overlaps = page.items.some((message) => known.has(message.id));
    if (!overlaps && page.next_cursor && this.messages.length) {
      // More new messages than one page: start again from the newest ones.
      this.messages = page.items;
      this.olderCursor = page.next_cursor;
      return true;
    }
    let changed = false;
    for (const message of page.items) {
      const previous = known.get(message.id);
      if (!previous || messageSignature(previous) !== messageSignature(message)) {
        known.set(message.id, message);
        changed = true;
      }
    }
    if (changed) this.messages = [...known.values()].sort(byTime);
    return changed;
  }

  // Only on the agent's click: the customer may receive the message twice.
  async retryUnknown(message) {
    const path = `/v1/conversations/${encodeURIComponent(this.id)}/messages/${encodeURIComponent(message.id)}/retry`;
    try {
      const updated = await this.api.post(path);
      if (this.merge({ items: [updated] })) this.renderMessages();
    } catch (error) {
      this.problem.textContent = describeError(error);
      this.problem.hidden = false;
    }
  }

  async loadOlder() {
    if (!this.olderCursor) return;
    const seq = this.seq;
    this.older.disabled = true;
    try {
      const page = await this.api.get(`/v1/conversations/${encodeURIComponent(this.id)}/messages`, { limit: PAGE, cursor: this.olderCursor });
      if (seq !== this.seq) return;
      const known = new Set(this.messages.map((message) => message.id));
      this.messages = [...page.items.filter((message) => !known.has(message.id)), ...this.messages];
      this.olderCursor = page.next_cursor;
      const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
      this.renderMessages();
      this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
    } catch (error) {
      this.problem.textContent = describeError(error);
      this.problem.hidden = false;
    } finally {
      this.older.disabled = false;
    }
  }

  relabel() {
    this.nodes.clear();
    if (!this.conversation) return;
    this.renderHeader();
    this.renderMessages();
  }

  renderHeader() {
    const conversation = this.conversation;
    const channel = this.channels().get(conversation.channel_id);
    this.avatar.replaceChildren(registrationMarker(conversation.registered, { size: 'lg', channel: conversation.channel, kind: conversation.kind }));
    this.title.textContent = conversationTitle(conversation);
    const parts = [
      h('span', { class: 'channel-label' }, icon(channelIcon(conversation.channel, conversation.kind), ''), channelName(conversation.channel, conversation.kind)),
    ];
    if (channel?.name) parts.push(h('span', { text: channel.name }));
    if (conversation.handle && conversation.handle !== conversation.display_name) parts.push(h('span', { dir: 'ltr', text: conversation.handle }));
    if (conversation.status === 'closed') parts.push(h('span', { class: 'pill', text: t('conversation.closed') }));
    if (conversation.kind === 'comment' && conversation.post_id) {
      const url = safeUrl(`https://www.facebook.com/${conversation.post_id}`);
      if (url) parts.push(h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', text: t('conversation.view_post') }));
    }
    this.subtitle.replaceChildren(...parts.flatMap((part, index) => (index ? [h('span', { class: 'sep', 'aria-hidden': 'true', text: '·' }), part] : [part])));
    const state = replyWindowState(conversation);
    this.windowNote.textContent = conversation.kind === 'comment' ? `${state.text} ${t('window.comment_public')}` : state.text;
    this.windowNote.dataset.level = state.level;
    this.composer.setConversation(conversation);
    this.actions.setConversation(conversation);
  }

  renderMessages({ toBottom = false } = {}) {
    const atBottom = this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight < STICK_TO_BOTTOM_PX;
    const byPlatformId = new Map(this.messages.filter((m) => m.platform_message_id).map((m) => [m.platform_message_id, m]));
    const nodes = [];
    const used = new Set();
    let day = null;
    for (const message of this.messages) {
      const key = dayKey(message.sent_at);
      if (key !== day) {
        day = key;
        const label = dayLabel(message.sent_at);
        nodes.push(this.cached(`day:${key}`, label, () => h('li', { class: 'day-separator' }, h('span', { text: label })), used));
      }
      const quoted = message.reply_to ? byPlatformId.has(message.reply_to) : false;
      nodes.push(this.cached(message.id, `${messageSignature(message)}|${quoted}`, () => renderMessage(message, { byPlatformId, onRetry: (unknown) => this.retryUnknown(unknown) }), used));
    }
    for (const key of [...this.nodes.keys()]) if (!used.has(key)) this.nodes.delete(key);
    if (!nodes.length) nodes.push(h('li', { class: 'empty', text: t('conversation.no_messages') }));
    reconcile(this.list, nodes);
    this.older.hidden = !this.olderCursor;
    if (toBottom || atBottom) this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  cached(key, sig, build, used) {
    used.add(key);
    let entry = this.nodes.get(key);
    if (!entry || entry.sig !== sig) {
      entry = { sig, node: build() };
      this.nodes.set(key, entry);
    }
    return entry.node;
  }
}
