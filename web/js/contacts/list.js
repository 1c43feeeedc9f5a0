// The contact list (/app/contacts, and /app/contacts/blocked for "Contactos bloqueados"): search,
// filter by tag, pages of 50, and a selection of rows — or of every contact the filter matches — for
// the bulk actions. "All matching" is sent as the filter itself: the server applies the action one
// page at a time (POST /v1/contacts/bulk with a cursor), so thousands of contacts need no id list.
import { h, announce } from '../dom.js';
import { t } from '../i18n.js';
import { contactName } from '../format.js';
import { emptyState, errorState, loadingState } from '../states.js';
import { describeError } from '../errors.js';
import { sectionUrl } from '../router.js';

const PAGE = 50;
const SEARCH_DELAY_MS = 250;

export class ContactList {
  constructor({ api, can, root }) {
    this.api = api;
    this.can = can;
    this.root = root;
    this.blocked = false;
    this.query = '';
    this.tag = '';
    this.tags = [];
    this.items = [];
    this.cursor = null;
    this.selected = new Set();
    this.allMatching = false;
    this.seq = 0;
    this.report = null;
  }

  async show({ blocked }) {
    const changed = blocked !== this.blocked || !this.loaded;
    this.blocked = blocked;
    if (changed) {
      this.loaded = true;
      this.report = null;
      this.api.get('/v1/tags').then((page) => {
        this.tags = page.items;
        this.renderToolbar();
      }, () => {});
      this.build();
      await this.load({ reset: true });
    }
  }

  filterQuery() {
    return { q: this.query.length >= 2 ? this.query : null, tag: this.tag || null, blocked: this.blocked ? true : null };
  }

  build() {
    this.toolbar = h('div', { class: 'contacts-toolbar' });
    this.bulkBar = h('div', { class: 'contacts-bulk', role: 'region', 'aria-label': t('contacts.bulk_region') });
    this.listBox = h('div', { class: 'contacts-list-box' });
    this.root.replaceChildren(this.toolbar, this.bulkBar, this.listBox);
    this.renderToolbar();
    this.renderBulk();
  }

  renderToolbar() {
    if (!this.toolbar) return;
    const search = h('input', {
      type: 'search',
      id: 'contacts-search',
      value: this.query,
      placeholder: t('contacts.search_placeholder'),
      'aria-label': t('contacts.search_label'),
      on: {
        input: (event) => {
          clearTimeout(this.searchTimer);
          this.query = event.target.value.trim();
          this.searchTimer = setTimeout(() => this.load({ reset: true }), SEARCH_DELAY_MS);
        },
      },
    });
    const tagSelect = h(
      'select',
      { id: 'contacts-tag', 'aria-label': t('contacts.filter_tag'), on: { change: (event) => { clearTimeout(this.searchTimer); this.query = this.toolbar.querySelector('#contacts-search').value.trim(); this.tag = event.target.value; this.load({ reset: true }); } } },
      h('option', { value: '', text: t('contacts.all_tags') }),
      this.tags.map((tag) => h('option', { value: tag.id, text: tag.name, selected: tag.id === this.tag })),
    );
    const focused = document.activeElement?.id === 'contacts-search';
    this.toolbar.replaceChildren(search, tagSelect);
    if (focused) {
      search.focus();
      search.setSelectionRange(search.value.length, search.value.length);
    }
  }

  async load({ reset = false } = {}) {
    const seq = ++this.seq;
    if (reset) {
      this.items = [];
      this.cursor = null;
      this.clearSelection();
      this.listBox.replaceChildren(loadingState(t('contacts.loading')));
    }
    this.loadingMore = !reset;
    this.renderFooter();
    try {
      const page = await this.api.get('/v1/contacts', { ...this.filterQuery(), limit: PAGE, cursor: reset ? null : this.cursor });
      if (seq !== this.seq) return;
      this.items = reset ? page.items : [...this.items, ...page.items];
      this.cursor = page.next_cursor || null;
      this.error = null;
    } catch (error) {
      if (seq !== this.seq) return;
      this.error = error;
    }
    this.loadingMore = false;
    this.renderList();
  }

  filtered() {
    return Boolean(this.query || this.tag);
  }

  renderList() {
    if (this.error && !this.items.length) {
      this.listBox.replaceChildren(errorState({ error: this.error, onRetry: () => this.load({ reset: true }) }));
      return;
    }
    if (!this.items.length) {
      let state;
      if (this.filtered()) state = emptyState({ iconName: 'info', title: t('contacts.empty_filtered_title'), text: t('contacts.empty_filtered_text') });
      else if (this.blocked) state = emptyState({ iconName: 'nav-contacts', title: t('contacts.empty_blocked_title'), text: t('contacts.empty_blocked_text'), action: { label: t('contacts.all'), href: sectionUrl('contacts') } });
      else state = emptyState({ iconName: 'nav-contacts', title: t('contacts.empty_title'), text: t('contacts.empty_text'), action: { label: t('nav.inbox'), href: sectionUrl('inbox') } });
      this.listBox.replaceChildren(state);
      this.renderBulk();
      return;
    }
    const pageBox = h('input', {
      type: 'checkbox',
      id: 'contacts-select-page',
      'aria-label': t('contacts.select_page'),
      checked: this.items.every((item) => this.selected.has(item.id)),
      on: { change: (event) => this.selectPage(event.target.checked) },
    });
    const header = h('div', { class: 'contacts-row contacts-head', role: 'row' },
      h('span', { class: 'contacts-check', role: 'columnheader' }, pageBox),
      h('span', { role: 'columnheader', text: t('contacts.col_name') }),
      h('span', { role: 'columnheader', class: 'contacts-col-detail', text: t('contacts.col_details') }),
      h('span', { role: 'columnheader', class: 'contacts-col-tags', text: t('contacts.col_tags') }));
    const tagName = new Map(this.tags.map((tag) => [tag.id, tag]));
    const rows = this.items.map((item) => {
      const checked = this.allMatching || this.selected.has(item.id);
      return h('div', { class: ['contacts-row', checked && 'selected'], role: 'row', dataset: { contactId: item.id } },
        h('span', { class: 'contacts-check', role: 'cell' }, h('input', {
          type: 'checkbox',
          checked,
          disabled: this.allMatching,
          'aria-label': t('contacts.select_one', { name: contactName(item) }),
          on: { change: (event) => this.toggle(item.id, event.target.checked) },
        })),
        h('span', { class: 'contacts-name', role: 'cell' },
          h('a', { href: sectionUrl('contacts', item.id), text: contactName(item) }),
          item.blocked ? h('span', { class: 'pill danger', text: t('contacts.blocked_pill') }) : null),
        h('span', { class: 'contacts-col-detail muted', role: 'cell', text: [item.primary_phone || item.whatsapp_phone, item.emails[0]].filter(Boolean).join(' · ') || '—' }),
        h('span', { class: 'contacts-col-tags', role: 'cell' },
          item.tags.slice(0, 3).map((id) => h('span', { class: 'tag small', text: tagName.get(id)?.name || id }))));
    });
    const footer = h('div', { class: 'contacts-footer' });
    this.footer = footer;
    this.listBox.replaceChildren(h('div', { class: 'contacts-table', role: 'table', 'aria-label': t('contacts.list_label') }, header, ...rows), footer);
    this.renderFooter();
    this.renderBulk();
  }

  renderFooter() {
    if (!this.footer) return;
    const parts = [];
    if (this.error && this.items.length) parts.push(h('p', { class: 'error-text', role: 'alert', text: describeError(this.error) }));
    if (this.cursor) parts.push(h('button', { type: 'button', class: 'secondary', text: this.loadingMore ? t('states.loading') : t('contacts.more'), disabled: this.loadingMore, on: { click: () => this.load() } }));
    this.footer.replaceChildren(...parts);
  }

  clearSelection() {
    this.selected.clear();
    this.allMatching = false;
    this.renderBulk();
  }

  toggle(id, on) {
    if (on) this.selected.add(id);
    else this.selected.delete(id);
    this.renderList();
  }

  selectPage(on) {
    this.allMatching = false;
    for (const item of this.items) {
      if (on) this.selected.add(item.id);
      else this.selected.delete(item.id);
    }
    this.renderList();
  }

  selectionCount() {
    return this.allMatching ? null : this.selected.size;
  }

  renderBulk() {
    if (!this.bulkBar) return;
    const count = this.selectionCount();
    if (!this.allMatching && !count) {
      this.bulkBar.replaceChildren(...(this.report ? [this.report] : []));
      this.bulkBar.hidden = !this.report;
      return;
    }
    this.bulkBar.hidden = false;
    const pageAll = this.items.length && this.items.every((item) => this.selected.has(item.id));
    const summary = this.allMatching ? t('contacts.selected_all') : t('contacts.selected', { count });
    const widen = !this.allMatching && pageAll && this.cursor
      ? h('button', { type: 'button', class: 'ghost small', text: t('contacts.select_all_matching'), on: { click: () => { this.allMatching = true; this.renderList(); } } })
      : null;
    const tagSelect = h('select', { id: 'bulk-tag', 'aria-label': t('contacts.bulk_tag_label') },
      h('option', { value: '', text: t('contacts.bulk_tag_placeholder') }),
      this.tags.map((tag) => h('option', { value: tag.id, text: tag.name })));
    const busy = Boolean(this.running);
    const actions = [
      this.can('contacts.tag') && this.tags.length ? h('span', { class: 'bulk-tag' }, tagSelect, h('button', {
        type: 'button', class: 'secondary small', text: t('contacts.bulk_tag'), disabled: busy,
        on: { click: () => tagSelect.value && this.run('tag', { tag_id: tagSelect.value }) },
      })) : null,
      this.can('contacts.block') && !this.blocked ? h('button', { type: 'button', class: 'secondary small', text: t('contacts.block'), disabled: busy, on: { click: () => this.confirm('block') } }) : null,
      this.can('contacts.unblock') && this.blocked ? h('button', { type: 'button', class: 'secondary small', text: t('contacts.unblock'), disabled: busy, on: { click: () => this.confirm('unblock') } }) : null,
      this.can('contacts.delete') ? h('button', { type: 'button', class: 'danger-outline small', text: t('contacts.delete'), disabled: busy, on: { click: () => this.confirm('delete') } }) : null,
      h('button', { type: 'button', class: 'ghost small', text: t('contacts.clear_selection'), disabled: busy, on: { click: () => { this.clearSelection(); this.renderList(); } } }),
    ];
    this.bulkBar.replaceChildren(
      ...[
        h('p', { class: 'bulk-summary', role: 'status', text: this.running ? t('contacts.bulk_running', { count: this.running.done }) : summary }),
        widen,
        h('div', { class: 'bulk-actions' }, actions),
        this.report,
      ].filter(Boolean),
    );
  }

  confirm(action) {
    const count = this.selectionCount();
    const what = count === null ? t('contacts.confirm_all') : t('contacts.confirm_count', { count });
    const dialog = h('dialog', { class: 'confirm-dialog', 'aria-labelledby': 'bulk-confirm-title' },
      h('h2', { id: 'bulk-confirm-title', text: t(`contacts.confirm_${action}_title`) }),
      h('p', { text: t(`contacts.confirm_${action}_text`, { what }) }),
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'secondary', text: t('common.cancel'), on: { click: () => dialog.close() } }),
        h('button', { type: 'button', class: action === 'delete' ? 'danger' : 'primary', text: t(`contacts.${action}`), on: { click: () => { dialog.close(); this.run(action); } } })));
    dialog.addEventListener('close', () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
  }

  async run(action, extra = {}) {
    const tally = { done: 0, unchanged: 0, failed: 0 };
    this.running = tally;
    this.report = null;
    this.renderBulk();
    const count = (answer) => {
      for (const result of answer.results) {
        if (result.status === 'done') tally.done += 1;
        else if (result.status === 'unchanged') tally.unchanged += 1;
        else tally.failed += 1;
      }
      this.renderBulk();
    };
    let error = null;
    try {
      if (this.allMatching) {
        const { q, tag, blocked } = this.filterQuery();
        const filter = { ...(q ? { q } : {}), ...(tag ? { tag } : {}), ...(blocked ? { blocked } : {}) };
        let cursor = null;
        do {
          const answer = await this.api.post('/v1/contacts/bulk', { action, ...extra, filter, ...(cursor ? { cursor } : {}) });
          count(answer);
          cursor = answer.next_cursor;
        } while (cursor);
      } else {
        const ids = [...this.selected];
        for (let start = 0; start < ids.length; start += 100) {
          count(await this.api.post('/v1/contacts/bulk', { action, ...extra, contact_ids: ids.slice(start, start + 100) }));
        }
      }
    } catch (caught) {
      error = caught;
    }
    this.running = null;
    const text = t('contacts.bulk_done', tally) + (tally.failed ? ` ${t('contacts.bulk_failed', tally)}` : '');
    this.report = h('p', { class: error ? 'error-text' : 'bulk-report', role: 'alert', text: error ? `${describeError(error)} ${text}` : text });
    announce(text);
    await this.load({ reset: true });
  }

  relabel() {
    if (!this.loaded) return;
    this.renderToolbar();
    this.renderList();
  }
}
