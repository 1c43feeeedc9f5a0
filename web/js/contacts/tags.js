// A contact's tags (seed 002): chips with "×", and "+" opening a search over the workspace's tags with
// a checkbox per tag; when no tag has the typed name, "Crear etiqueta «…»" (owners and managers).
import { h, announce } from '../dom.js';
import { t } from '../i18n.js';
import { describeError } from '../errors.js';

const fold = (text) => text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().trim();

export class TagPicker {
  constructor({ api, can, onChange }) {
    this.api = api;
    this.can = can;
    this.onChange = onChange;
    this.tags = [];
    this.open = false;
    this.query = '';
    this.busy = false;
    this.error = null;
    this.element = h('section', { class: 'contact-tags', 'aria-labelledby': 'contact-tags-title' });
  }

  async loadTags() {
    try {
      this.tags = (await this.api.get('/v1/tags')).items;
    } catch {
      this.tags = [];
    }
    return this.tags;
  }

  render(contact) {
    this.contact = contact;
    const names = new Map(this.tags.map((tag) => [tag.id, tag]));
    const chips = contact.tags.map((tagId) => {
      const label = names.get(tagId)?.name || tagId;
      const chip = h('li', { class: 'tag' }, h('span', { dir: 'auto', text: label }),
        this.can('contacts.tag') ? h('button', { type: 'button', class: 'tag-remove', 'aria-label': t('tags.remove', { name: label }), title: t('tags.remove', { name: label }), disabled: this.busy, on: { click: () => this.change(tagId, false) } }, '×') : null);
      const color = names.get(tagId)?.color;
      if (/^#[0-9a-f]{6}$/i.test(color || '')) {
        chip.classList.add('colored');
        chip.style.setProperty('--tag-color', color);
      }
      return chip;
    });
    const children = [
      h('div', { class: 'contact-tags-head' },
        h('h2', { id: 'contact-tags-title', text: t('tags.title') }),
        this.can('contacts.tag') ? h('button', { type: 'button', class: 'secondary small', 'aria-expanded': String(this.open), 'aria-controls': 'tag-picker', text: `+ ${t('tags.add')}`, on: { click: () => { this.open = !this.open; this.render(this.contact); if (this.open) document.getElementById('tag-search')?.focus(); } } }) : null),
      chips.length ? h('ul', { class: 'tag-list' }, chips) : h('p', { class: 'muted', text: t('tags.none') }),
    ];
    if (this.open) children.push(this.picker());
    if (this.error) children.push(h('p', { class: 'error-text', role: 'alert', text: this.error }));
    this.element.replaceChildren(...children);
    return this.element;
  }

  picker() {
    const wanted = fold(this.query);
    const matches = this.tags.filter((tag) => !wanted || fold(tag.name).includes(wanted));
    const exact = this.tags.some((tag) => fold(tag.name) === wanted);
    const list = h('ul', { class: 'tag-options', 'aria-label': t('contacts.tag_options') }, matches.map((tag) => {
      const id = `tag-option-${tag.id}`;
      return h('li', {}, h('input', { type: 'checkbox', id, checked: this.contact.tags.includes(tag.id), disabled: this.busy, on: { change: (event) => this.change(tag.id, event.target.checked) } }), h('label', { for: id, dir: 'auto', text: tag.name }));
    }));
    const search = h('input', {
      type: 'search', id: 'tag-search', value: this.query, placeholder: t('contacts.tag_search'), 'aria-label': t('contacts.tag_search'),
      on: { input: (event) => { this.query = event.target.value; this.render(this.contact); const box = document.getElementById('tag-search'); box?.focus(); box?.setSelectionRange(box.value.length, box.value.length); } },
    });
    const create = wanted && !exact
      ? this.can('tags.manage')
        ? h('button', { type: 'button', class: 'ghost small', disabled: this.busy, text: t('contacts.tag_create', { name: this.query.trim() }), on: { click: () => this.create() } })
        : h('p', { class: 'hint', text: t('contacts.tag_create_admins') })
      : null;
    return h('div', { id: 'tag-picker', class: 'tag-picker' }, search, matches.length ? list : h('p', { class: 'muted', text: t('contacts.tag_no_match') }), create);
  }

  async change(tagId, add) {
    const id = encodeURIComponent(this.contact.id);
    await this.busyWith(async () => {
      const contact = add ? await this.api.post(`/v1/contacts/${id}/tags`, { tag_id: tagId }) : await this.api.del(`/v1/contacts/${id}/tags/${encodeURIComponent(tagId)}`);
      this.onChange(contact);
    });
  }

  async create() {
    const name = this.query.trim();
    await this.busyWith(async () => {
      const tag = await this.api.post('/v1/tags', { name });
      this.tags = [...this.tags, tag].sort((a, b) => a.name.localeCompare(b.name));
      this.query = '';
      announce(t('contacts.tag_created', { name }), 'success');
      this.onChange(await this.api.post(`/v1/contacts/${encodeURIComponent(this.contact.id)}/tags`, { tag_id: tag.id }));
    });
  }

  async busyWith(work) {
    this.busy = true;
    this.error = null;
    try {
      await work();
    } catch (error) {
      this.error = describeError(error);
    }
    this.busy = false;
    this.render(this.contact);
  }
}
