// Historial de fusiones (/app/contacts/merges, owners and managers): who merged which contacts, when,
// and "Deshacer fusión" for a merge still in place.
import { h, announce } from '../dom.js';
import { t } from '../i18n.js';
import { describeError } from '../errors.js';
import { contactName, fullWhen } from '../format.js';
import { emptyState, errorState, loadingState } from '../states.js';
import { sectionUrl } from '../router.js';

export class MergeHistory {
  constructor({ api, root }) {
    this.api = api;
    this.root = root;
    this.names = new Map();
    this.items = [];
  }

  async show() {
    this.root.replaceChildren(loadingState(t('contacts.merges_loading')));
    try {
      const [page, members] = await Promise.all([this.api.get('/v1/merges', { limit: 50 }), this.api.get('/v1/members').then((list) => list.items, () => [])]);
      this.items = page.items;
      this.cursor = page.next_cursor;
      this.members = new Map(members.map((member) => [member.id, member.name || member.email]));
      await this.resolveNames(this.items);
    } catch (error) {
      this.root.replaceChildren(errorState({ error, onRetry: () => this.show() }));
      return;
    }
    this.render();
  }

  async resolveNames(items) {
    const ids = [...new Set(items.flatMap((item) => [item.survivor_id, item.absorbed_id]))].filter((id) => !this.names.has(id));
    await Promise.all(ids.map(async (id) => {
      try {
        this.names.set(id, contactName(await this.api.get(`/v1/contacts/${encodeURIComponent(id)}`)));
      } catch {
        this.names.set(id, null); // merged away or deleted: shown by its id
      }
    }));
  }

  render() {
    if (!this.items.length) {
      this.root.replaceChildren(emptyState({ iconName: 'nav-contacts', title: t('contacts.merges_empty_title'), text: t('contacts.merges_empty_text') }));
      return;
    }
    const person = (id) => (this.names.get(id) ? h('a', { href: sectionUrl('contacts', id), dir: 'auto', text: this.names.get(id) }) : h('span', { class: 'mono', text: id }));
    const rows = this.items.map((item) => h('li', { class: 'merge-row', dataset: { mergeId: item.id, status: item.status } },
      h('p', {}, person(item.absorbed_id), ` → `, person(item.survivor_id)),
      h('p', { class: 'muted', text: t('contacts.merge_by', { who: this.members.get(item.by) || item.by, when: fullWhen(item.created_at) }) }),
      item.status === 'undone'
        ? h('span', { class: 'pill', text: t('contacts.merge_undone', { when: fullWhen(item.undone_at) }) })
        : h('button', { type: 'button', class: 'secondary small', text: t('merge.undo'), disabled: item.status !== 'done', on: { click: () => this.undo(item) } })));
    const more = this.cursor ? h('button', { type: 'button', class: 'secondary', text: t('contacts.more'), on: { click: () => this.more() } }) : null;
    this.root.replaceChildren(...[h('ul', { class: 'merge-history', 'aria-label': t('contacts.merges') }, rows), more].filter(Boolean));
  }

  async more() {
    try {
      const page = await this.api.get('/v1/merges', { limit: 50, cursor: this.cursor });
      await this.resolveNames(page.items);
      this.items = [...this.items, ...page.items];
      this.cursor = page.next_cursor;
    } catch (error) {
      announce(describeError(error), 'error');
    }
    this.render();
  }

  async undo(item) {
    try {
      const result = await this.api.post(`/v1/merges/${encodeURIComponent(item.id)}/undo`);
      this.items = this.items.map((known) => (known.id === item.id ? result.merge : known));
      this.names.delete(item.absorbed_id);
      await this.resolveNames([result.merge]);
      announce(t('merge.undone'), 'success');
    } catch (error) {
      announce(describeError(error), 'error');
    }
    this.render();
  }
}
