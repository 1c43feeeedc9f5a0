// The inbox list: filters, channel icons, unread badges, the registered marker; refreshed by polling.
import { h, reconcile } from '../dom.js';
import { t } from '../i18n.js';
import { conversationTitle, previewText, shortWhen, fullWhen, channelName } from '../format.js';
import { describeError } from '../errors.js';
import { registrationMarker } from './markers.js';

const PAGE = 25;
const MAX_PAGE = 100;
const FILTERS_KEY = 'inbox-crm:filters';

/** Whether a row sorts after (is older than) another: the API orders by last activity, then id. */
function sortsAfter(item, other) {
  const a = Date.parse(item.last_activity_at);
  const b = Date.parse(other.last_activity_at);
  return a !== b ? a < b : item.id < other.id;
}

export class InboxView {
  constructor({ api, onSelect, onUnreadChanged }) {
    this.api = api;
    this.onSelect = onSelect;
    this.onUnreadChanged = onUnreadChanged;
    this.list = document.getElementById('conversation-list');
    this.status = document.getElementById('inbox-status');
    this.more = document.getElementById('inbox-more');
    this.form = document.getElementById('filters');
    this.items = [];
    this.nextCursor = null;
    this.selectedId = null;
    this.nodes = new Map();
    this.generation = 0; // a new list (filters changed, signed out): answers for the old one are dropped
    this.refreshSeq = 0; // only the latest poll's answer is merged
    this.loadingMore = false;
    this.loaded = false;
    this.filters = { status: 'open', channel: '', registered: '', assignee: '' };
    try {
      Object.assign(this.filters, JSON.parse(sessionStorage.getItem(FILTERS_KEY) || '{}'));
    } catch {
      // defaults
    }
    this.syncForm();
    this.form.addEventListener('change', () => {
      this.readForm();
      this.refresh({ reset: true });
    });
    this.form.addEventListener('submit', (event) => event.preventDefault());
    this.more.addEventListener('click', () => this.loadMore());
    this.list.addEventListener('keydown', (event) => this.onKeydown(event));
  }

  /** ↑/↓ (and Home/End) move between rows; Enter opens the focused one (it is a link). */
  onKeydown(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const links = [...this.list.querySelectorAll('.conv-link')];
    if (!links.length) return;
    const index = links.indexOf(document.activeElement);
    let next = null;
    if (event.key === 'ArrowDown') next = links[Math.min(index + 1, links.length - 1)];
    else if (event.key === 'ArrowUp') next = links[Math.max(index - 1, 0)];
    else if (event.key === 'Home') next = links[0];
    else if (event.key === 'End') next = links[links.length - 1];
    if (!next) return;
    event.preventDefault();
    next.focus();
    next.scrollIntoView({ block: 'nearest' });
    if (event.key === 'ArrowDown' && next === links[links.length - 1] && this.nextCursor) this.loadMore();
  }

  syncForm() {
    for (const [name, value] of Object.entries(this.filters)) {
      const fields = this.form.elements[name];
      if (!fields) continue;
      if (fields instanceof RadioNodeList) for (const radio of fields) radio.checked = radio.value === value;
      else fields.value = value;
    }
  }

  readForm() {
    const data = new FormData(this.form);
    for (const name of Object.keys(this.filters)) this.filters[name] = String(data.get(name) ?? '');
    try {
      sessionStorage.setItem(FILTERS_KEY, JSON.stringify(this.filters));
    } catch {
      // not remembered
    }
  }

  query(limit, cursor) {
    return { ...this.filters, limit, cursor };
  }

  /**
   * Polling (and reset: the first page again, e.g. when the filters change). Polling asks for the
   * newest rows (as many as are shown, up to 100) and merges them in place: rows the agent loaded
   * further down with "Cargar más" stay, so the list never shrinks under them.
   */
  async refresh({ reset = false } = {}) {
    if (reset) this.generation++;
    const generation = this.generation;
    const seq = ++this.refreshSeq;
    const limit = reset ? PAGE : Math.min(MAX_PAGE, Math.max(PAGE, this.items.length));
    if (reset) this.setStatus(t('inbox.loading'), 'loading');
    try {
      const page = await this.api.get('/v1/conversations', this.query(limit));
      if (seq !== this.refreshSeq || generation !== this.generation) return;
      if (reset) {
        this.items = page.items;
        this.nextCursor = page.next_cursor;
      } else {
        this.mergeNewest(page);
      }
      this.loaded = true;
      this.render();
    } catch (error) {
      if (seq !== this.refreshSeq || generation !== this.generation || error.status === 401) return;
      this.setStatus(describeError(error), 'error');
    }
  }

  /** The newest rows replace what they cover; older loaded rows (and their cursor) are kept. */
  mergeNewest(page) {
    if (!page.next_cursor) {
      // The whole (filtered) inbox fits in this page: it is the list.
      this.items = page.items;
      this.nextCursor = null;
      return;
    }
    const fresh = new Set(page.items.map((item) => item.id));
    const last = page.items[page.items.length - 1];
    // Rows newer than the page's last one but missing from it left the list (closed, filtered out).
    const older = this.items.filter((item) => !fresh.has(item.id) && (!last || sortsAfter(item, last)));
    this.items = [...page.items, ...older];
    if (!older.length) this.nextCursor = page.next_cursor;
  }

  async loadMore() {
    if (!this.nextCursor || this.loadingMore) return;
    const generation = this.generation;
    this.loadingMore = true;
    this.more.disabled = true;
    try {
      const page = await this.api.get('/v1/conversations', this.query(PAGE, this.nextCursor));
      // A poll meanwhile merged the newest rows in place: this page still belongs after them.
      if (generation !== this.generation) return;
      const known = new Set(this.items.map((item) => item.id));
      this.items.push(...page.items.filter((item) => !known.has(item.id)));
      this.nextCursor = page.next_cursor;
      this.render();
    } catch (error) {
      if (generation === this.generation && error.status !== 401) this.setStatus(describeError(error), 'error');
    } finally {
      this.loadingMore = false;
      this.more.disabled = false;
    }
  }

  /** Signed out: nothing of the last user's inbox stays on screen. */
  clear() {
    this.generation++;
    this.items = [];
    this.nextCursor = null;
    this.loaded = false;
    this.selectedId = null;
    this.render();
    this.setStatus('');
  }

  /** Keyboard focus back on a row (after closing its conversation). */
  focusRow(id) {
    this.nodes.get(id)?.node.querySelector('a')?.focus({ preventScroll: false });
  }

  get(id) {
    return this.items.find((item) => item.id === id) || null;
  }

  /** A conversation changed elsewhere (linked, unlinked): show it at once, then let polling confirm. */
  upsert(conversation) {
    const index = this.items.findIndex((item) => item.id === conversation.id);
    if (index >= 0) this.items[index] = conversation;
    this.render();
  }

  setSelected(id) {
    this.selectedId = id;
    for (const [key, entry] of this.nodes) {
      const link = entry.node.querySelector('a');
      if (key === id) link.setAttribute('aria-current', 'true');
      else link.removeAttribute('aria-current');
    }
  }

  setStatus(text, kind = 'info') {
    this.status.textContent = text || '';
    this.status.dataset.kind = kind;
    this.status.hidden = !text;
  }

  relabel() {
    this.nodes.clear();
    this.render();
  }

  render() {
    const focusedId = document.activeElement?.closest?.('.conv-item')?.dataset.conversationId;
    const nodes = this.items.map((conversation) => {
      const sig = JSON.stringify(conversation);
      let entry = this.nodes.get(conversation.id);
      if (!entry || entry.sig !== sig) {
        entry = { sig, node: this.renderItem(conversation) };
        this.nodes.set(conversation.id, entry);
      }
      return entry.node;
    });
    const shown = new Set(this.items.map((item) => item.id));
    for (const id of [...this.nodes.keys()]) if (!shown.has(id)) this.nodes.delete(id);
    reconcile(this.list, nodes);
    this.setSelected(this.selectedId);
    if (focusedId && shown.has(focusedId) && !this.list.contains(document.activeElement)) {
      this.nodes.get(focusedId)?.node.querySelector('a')?.focus();
    }
    this.more.hidden = !this.nextCursor;
    this.onUnreadChanged?.(this.items.filter((item) => item.unread_count > 0).length);
    if (!this.loaded) return;
    this.setStatus(this.items.length ? '' : t(this.filtersActive() ? 'inbox.empty_filtered' : 'inbox.empty'));
  }

  filtersActive() {
    return this.filters.status !== 'open' || Boolean(this.filters.channel || this.filters.registered || this.filters.assignee);
  }

  renderItem(conversation) {
    const title = conversationTitle(conversation);
    const unread = conversation.unread_count || 0;
    const link = h(
      'a',
      {
        href: `/app/inbox/${encodeURIComponent(conversation.id)}`,
        class: 'conv-link',
        on: {
          click: (event) => {
            if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
            event.preventDefault();
            this.onSelect(conversation.id);
          },
        },
      },
      registrationMarker(conversation.registered, { channel: conversation.channel, kind: conversation.kind }),
      h(
        'span',
        { class: 'conv-main' },
        h(
          'span',
          { class: 'conv-top' },
          h('span', { class: 'conv-name', dir: 'auto', text: title }),
          h('time', { class: 'conv-time', datetime: conversation.last_activity_at, title: fullWhen(conversation.last_activity_at), text: shortWhen(conversation.last_activity_at) }),
        ),
        h(
          'span',
          { class: 'conv-bottom' },
          h('span', { class: 'conv-preview', dir: 'auto', text: previewText(conversation.last_preview) || channelName(conversation.channel, conversation.kind) }),
          unread ? h('span', { class: 'badge', 'aria-label': t('inbox.unread', { count: unread }), title: t('inbox.unread', { count: unread }), text: unread > 99 ? '99+' : String(unread) }) : null,
        ),
      ),
    );
    return h(
      'li',
      { class: ['conv-item', unread && 'has-unread', conversation.status === 'closed' && 'closed'], dataset: { conversationId: conversation.id, registered: String(conversation.registered) } },
      link,
    );
  }
}
