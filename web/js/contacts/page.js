// One contact (/app/contacts/<id>/<tab>): its name and id, the more-actions menu (block, unblock,
// delete) and four tabs — Contacto (every field edited in place, custom fields, tags with search and
// create, merge suggestions), CRM, Canales and Conversaciones.
import { h, icon, announce } from '../dom.js';
import { t, locale } from '../i18n.js';
import { contactName, fullWhen, channelName, channelIcon } from '../format.js';
import { emptyState, errorState, loadingState, notFoundState } from '../states.js';
import { describeError, fieldErrors } from '../errors.js';
import { sectionUrl } from '../router.js';
import { MergeCard } from '../views/merge-card.js';
import { channelsTab } from './channels.js';
import { TagPicker } from './tags.js';

export const TABS = ['details', 'crm', 'channels', 'conversations'];

// The editable fields, in the order seed 002 lists them. kind: how the value is edited and sent.
const FIELDS = [
  ['first_name', 'text'],
  ['last_name', 'text'],
  ['country', 'text'],
  ['language', 'text'],
  ['emails', 'list'],
  ['primary_phone', 'tel'],
  ['secondary_phones', 'list'],
  ['whatsapp_phone', 'tel'],
  ['company', 'text'],
  ['assignee_id', 'member'],
];

export class ContactPage {
  constructor({ api, can, root, navigate, channels }) {
    this.api = api;
    this.can = can;
    this.root = root;
    this.navigate = navigate;
    this.channels = channels;
    this.seq = 0;
    this.editing = null;
    this.mergeCard = new MergeCard({ api, canReadMerges: () => can('merges.read'), onContactChanged: (contact) => this.replaced(contact) });
    this.tagPicker = new TagPicker({ api, can, onChange: (contact) => this.replaced(contact) });
  }

  async show(id, tab) {
    this.tab = TABS.includes(tab) ? tab : 'details';
    if (id === this.id && this.contact) {
      this.render();
      return;
    }
    this.id = id;
    this.contact = null;
    this.editing = null;
    const seq = ++this.seq;
    this.root.replaceChildren(loadingState(t('contact.loading')));
    try {
      const [contact, fields, members] = await Promise.all([
        this.api.get(`/v1/contacts/${encodeURIComponent(id)}`),
        this.api.get('/v1/custom-fields').then((page) => page.items, () => []),
        this.members ? Promise.resolve(this.members) : this.api.get('/v1/members').then((page) => page.items, () => []),
        this.tagPicker.loadTags(),
      ]);
      if (seq !== this.seq) return;
      this.contact = contact;
      this.fields = fields;
      this.members = members;
      this.error = null;
      this.mergeCard.reset(id);
      this.mergeCard.load(id);
    } catch (error) {
      if (seq !== this.seq) return;
      this.root.replaceChildren(error.status === 404 ? notFoundState() : errorState({ error, onRetry: () => { this.id = null; this.show(id, tab); } }));
      return;
    }
    this.render();
  }

  replaced(contact) {
    if (!this.contact || contact.id !== this.contact.id) {
      if (contact?.id) this.navigate(sectionUrl('contacts', contact.id));
      return;
    }
    this.contact = contact;
    this.render();
  }

  render() {
    if (!this.contact) return;
    const contact = this.contact;
    const header = h('div', { class: 'contact-page-header' },
      h('a', { href: sectionUrl('contacts'), class: 'back-link', text: `← ${t('contacts.back')}` }),
      h('div', { class: 'contact-page-title' },
        h('h1', { dir: 'auto', text: contactName(contact) }),
        contact.blocked ? h('span', { class: 'pill danger', text: t('contact.blocked') }) : null),
      h('p', { class: 'muted contact-id', text: t('contacts.id', { id: contact.id }) }),
      this.renderMenu());
    const tabs = h('nav', { class: 'contact-tabs', 'aria-label': t('contacts.tabs') },
      TABS.map((tab) => h('a', {
        href: sectionUrl('contacts', contact.id, ...(tab === 'details' ? [] : [tab])),
        class: ['contact-tab', tab === this.tab && 'active'],
        'aria-current': tab === this.tab ? 'page' : null,
        text: t(`contacts.tab_${tab}`),
      })));
    const body = h('div', { class: 'contact-tab-body' });
    this.root.replaceChildren(header, tabs, body);
    if (this.tab === 'details') body.append(this.mergeCard.element, this.renderFields(), this.tagPicker.render(contact));
    else if (this.tab === 'crm') body.append(emptyState({ iconName: 'info', title: t('contacts.crm_title'), text: t('contacts.crm_text') }));
    else if (this.tab === 'channels') channelsTab(body, { api: this.api, can: this.can, contact, channels: this.channels, onChange: (next) => this.replaced(next) });
    else this.renderConversations(body);
  }

  renderMenu() {
    const contact = this.contact;
    const items = [
      !contact.blocked && this.can('contacts.block') ? ['block', t('contact.block')] : null,
      contact.blocked && this.can('contacts.unblock') ? ['unblock', t('contact.unblock')] : null,
      this.can('contacts.delete') ? ['delete', t('contacts.delete')] : null,
    ].filter(Boolean);
    if (!items.length) return null;
    const menu = h('div', { class: 'more-menu-items', id: 'contact-more-menu', role: 'menu', hidden: true });
    const toggle = h('button', {
      type: 'button', class: 'secondary', 'aria-label': t('contact.actions'), title: t('contact.actions'), 'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-controls': 'contact-more-menu', text: '⋯',
      on: { click: () => { menu.hidden = !menu.hidden; toggle.setAttribute('aria-expanded', String(!menu.hidden)); if (!menu.hidden) menu.querySelector('button')?.focus(); } },
    });
    menu.append(...items.map(([action, label]) =>
      h('button', { type: 'button', role: 'menuitem', class: action === 'delete' ? 'ghost danger-text' : 'ghost', text: label, on: { click: () => { menu.hidden = true; toggle.setAttribute('aria-expanded', 'false'); this.confirm(action); } } })));
    menu.addEventListener('keydown', (event) => {
      if (event.key !== 'Escape') return;
      event.preventDefault();
      menu.hidden = true;
      toggle.setAttribute('aria-expanded', 'false');
      toggle.focus();
    });
    return h('div', { class: 'more-menu' }, toggle, menu);
  }

  confirm(action) {
    const name = contactName(this.contact);
    const dialog = h('dialog', { class: 'confirm-dialog', 'aria-labelledby': 'contact-confirm-title' },
      h('h2', { id: 'contact-confirm-title', text: t(`contacts.confirm_${action}_title`) }),
      h('p', { text: t(`contacts.confirm_${action}_text`, { what: name }) }),
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'secondary', text: t('common.cancel'), on: { click: () => dialog.close() } }),
        h('button', { type: 'button', class: action === 'delete' ? 'danger' : 'primary', text: t(`contacts.${action}`), on: { click: () => { dialog.close(); this.act(action); } } })));
    dialog.addEventListener('close', () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
  }

  async act(action) {
    const id = encodeURIComponent(this.contact.id);
    const name = contactName(this.contact);
    try {
      if (action === 'delete') {
        await this.api.del(`/v1/contacts/${id}`);
        announce(t('contacts.deleted', { name }), 'success');
        this.contact = null;
        this.id = null;
        this.navigate(sectionUrl('contacts'));
        return;
      }
      this.contact = await this.api.post(`/v1/contacts/${id}/${action}`);
      announce(t(action === 'block' ? 'contact.blocked_done' : 'contact.unblocked_done', { name }), 'success');
    } catch (error) {
      announce(describeError(error), 'error');
    }
    this.render();
  }

  // ------------------------------------------------------------------ Contacto: fields in place

  renderFields() {
    const contact = this.contact;
    const rows = FIELDS.map(([key, kind]) => this.fieldRow(key, kind, t(`contacts.field_${key}`), contact[key], (value) => ({ [key]: value })));
    const custom = this.fields.map((field) =>
      this.fieldRow(`custom:${field.key}`, field.type, field.label, contact.custom_fields?.[field.key], (value) => ({ custom_fields: { [field.key]: value } }), field));
    return h('section', { class: 'contact-fields', 'aria-labelledby': 'fields-title' },
      h('h2', { id: 'fields-title', text: t('contact.details') }),
      h('dl', { class: 'field-list' }, rows),
      custom.length ? [h('h3', { text: t('contacts.custom_fields') }), h('dl', { class: 'field-list' }, custom)] : null);
  }

  shown(kind, value) {
    if (value === null || value === undefined || value === '' || (Array.isArray(value) && !value.length)) return null;
    if (kind === 'member') return this.members.find((member) => member.id === value)?.name || value;
    if (kind === 'list') return value.join(', ');
    if (kind === 'boolean') return value ? t('contacts.yes') : t('contacts.no');
    if (kind === 'date') return new Date(value).toLocaleDateString(locale());
    return String(value);
  }

  fieldRow(key, kind, label, value, bodyOf, definition) {
    const inputId = `field-${key.replace(':', '-')}`;
    if (this.editing?.key !== key) {
      return h('div', { class: 'field-row', dataset: { field: key } },
        h('dt', { text: label }),
        h('dd', {},
          h('span', { class: this.shown(kind, value) === null ? 'muted' : null, dir: 'auto', text: this.shown(kind, value) ?? t('contacts.empty_value') }),
          this.can('contacts.write') ? h('button', { type: 'button', class: 'ghost small edit-field', 'aria-label': t('contacts.edit_field', { field: label }), title: t('contacts.edit_field', { field: label }), text: '✎', on: { click: () => { this.editing = { key }; this.render(); document.getElementById(inputId)?.focus(); } } }) : null));
    }
    const input = this.editor(inputId, kind, value, definition);
    const save = async (event) => {
      event.preventDefault();
      let next = kind === 'list' ? input.value.split(',').map((part) => part.trim()).filter(Boolean) : kind === 'boolean' ? input.checked : input.value.trim();
      if (kind === 'number' && next !== '') next = Number(next);
      if (next === '' || (kind === 'list' && !next.length && !['emails', 'secondary_phones'].includes(key))) next = null;
      this.editing = { key, busy: true };
      try {
        this.contact = await this.api.patch(`/v1/contacts/${encodeURIComponent(this.contact.id)}`, { ...bodyOf(next), version: this.contact.version });
        this.editing = null;
        announce(t('contacts.saved', { field: label }), 'success');
      } catch (error) {
        const named = Object.values(fieldErrors(error))[0];
        this.editing = { key, error: error.status === 412 ? t('errors.stale') : named || describeError(error), draft: input.value };
        if (error.status === 412) this.contact = await this.api.get(`/v1/contacts/${encodeURIComponent(this.contact.id)}`).catch(() => this.contact);
      }
      this.render();
      document.getElementById(inputId)?.focus();
    };
    if (this.editing.draft !== undefined && kind !== 'boolean') input.value = this.editing.draft;
    return h('div', { class: 'field-row editing', dataset: { field: key } },
      h('dt', {}, h('label', { for: inputId, text: label })),
      h('dd', {},
        h('form', { class: 'inline-form', on: { submit: save, keydown: (event) => { if (event.key === 'Escape') { event.preventDefault(); this.editing = null; this.render(); } } } },
          input,
          h('button', { type: 'submit', class: 'primary small', 'aria-label': t('contacts.save'), title: t('contacts.save'), text: '✓', disabled: this.editing.busy }),
          h('button', { type: 'button', class: 'ghost small', 'aria-label': t('common.cancel'), title: t('common.cancel'), text: '✕', on: { click: () => { this.editing = null; this.render(); } } })),
        this.editing.error ? h('p', { class: 'error-text', role: 'alert', text: this.editing.error }) : null,
        kind === 'list' ? h('p', { class: 'hint', text: t('contacts.list_hint') }) : null));
  }

  editor(id, kind, value, definition) {
    if (kind === 'member') {
      return h('select', { id }, h('option', { value: '', text: t('contacts.unassigned') }), this.members.map((member) => h('option', { value: member.id, text: member.name || member.email || member.id, selected: member.id === value })));
    }
    if (kind === 'single_select') {
      return h('select', { id }, h('option', { value: '', text: t('contacts.empty_value') }), (definition.options || []).map((option) => h('option', { value: option, text: option, selected: option === value })));
    }
    if (kind === 'boolean') return h('input', { id, type: 'checkbox', checked: Boolean(value) });
    const type = { number: 'number', date: 'date', tel: 'tel' }[kind] || 'text';
    const shown = kind === 'list' ? (value || []).join(', ') : value ?? '';
    return h('input', { id, type, value: kind === 'date' && shown ? String(shown).slice(0, 10) : String(shown), step: kind === 'number' ? 'any' : null, dir: 'auto' });
  }

  // ------------------------------------------------------------------ Conversaciones

  async renderConversations(body) {
    const seq = this.seq;
    body.replaceChildren(loadingState(t('contacts.conversations_loading')));
    let items;
    try {
      items = (await this.api.get(`/v1/contacts/${encodeURIComponent(this.contact.id)}/conversations`)).items;
    } catch (error) {
      if (seq === this.seq && this.tab === 'conversations') body.replaceChildren(errorState({ error, onRetry: () => this.renderConversations(body) }));
      return;
    }
    if (seq !== this.seq || this.tab !== 'conversations') return;
    if (!items.length) {
      body.replaceChildren(emptyState({ iconName: 'chat', title: t('contacts.conversations_empty_title'), text: t('contacts.conversations_empty_text') }));
      return;
    }
    body.replaceChildren(h('ul', { class: 'contact-conversations', 'aria-label': t('contacts.tab_conversations') }, items.map((item) =>
      h('li', {},
        h('a', { href: sectionUrl('inbox', item.id), class: 'contact-conversation' },
          icon(channelIcon(item.channel, item.kind)),
          h('span', { class: 'grow' },
            h('span', { class: 'strong', text: `${channelName(item.channel, item.kind)} · ${t(item.status === 'open' ? 'contacts.status_open' : 'contacts.status_closed')}` }),
            h('span', { class: 'muted preview', dir: 'auto', text: item.last_preview || '' })),
          h('time', { class: 'muted', datetime: item.last_activity_at, text: fullWhen(item.last_activity_at) }))))));
  }

  relabel() {
    if (this.contact) this.render();
    this.mergeCard.render();
  }
}
