// The contact panel on the right of a conversation. Not registered: search and "Asociar contacto",
// or "Crear nuevo contacto" (consent required). Registered: the contact's details, tags, "Desvincular"
// and "Bloquear". API errors are shown here, in the panel.
import { h, icon, announce } from '../dom.js';
import { t } from '../i18n.js';
import { can, describeError, fieldErrors } from '../errors.js';
import { contactName, conversationTitle, fullWhen } from '../format.js';
import { registrationMarker } from './markers.js';
import { MergeCard } from './merge-card.js';

const SEARCH_DELAY_MS = 250;
const MIN_QUERY = 2;

export class ContactPanel {
  constructor({ api, role, onConversationChanged, onContactBlocked }) {
    this.api = api;
    this.role = role;
    this.onConversationChanged = onConversationChanged;
    this.onContactBlocked = onContactBlocked;
    this.body = document.getElementById('contact-body');
    this.conversation = null;
    this.tags = null;
    this.seq = 0;
    this.searchSeq = 0;
    this.mergeCard = new MergeCard({
      api,
      canReadMerges: () => can(this.role, 'merges.read'),
      onContactChanged: (contact) => {
        if (!this.contact || contact.id !== this.contact.id) return;
        this.contact = contact;
        this.render();
      },
    });
    this.clear();
  }

  clear() {
    this.conversation = null;
    this.contact = null;
    this.seq += 1;
    this.mergeCard.reset(null);
    this.body.replaceChildren(h('p', { class: 'muted panel-placeholder', text: t('contact.none_selected') }));
  }

  /** Shows the panel for this conversation, from scratch. */
  show(conversation) {
    this.seq += 1;
    this.conversation = conversation;
    this.contact = null;
    this.error = null;
    this.query = '';
    this.results = null;
    this.createOpen = false;
    this.draft = null;
    this.confirming = null;
    this.pending = false;
    this.mergeCard.reset(null);
    if (conversation.contact_id) this.loadContact();
    else this.render();
  }

  /** Polling saw the conversation again: follow a change of contact unless the agent is mid-task. */
  conversationChanged(conversation) {
    if (!this.conversation || conversation.id !== this.conversation.id) return;
    const changed = conversation.contact_id !== this.conversation.contact_id;
    if (!changed) {
      this.conversation = conversation;
      return;
    }
    if (this.pending || this.query || this.createOpen || this.confirming) return;
    this.show(conversation);
  }

  relabel() {
    this.mergeCard.render();
    if (this.conversation) this.render();
    else this.clear();
  }

  async loadContact() {
    const seq = this.seq;
    this.body.replaceChildren(h('p', { class: 'muted', text: t('contact.loading') }));
    try {
      const [contact] = await Promise.all([
        this.api.get(`/v1/contacts/${encodeURIComponent(this.conversation.contact_id)}`),
        this.loadTags(),
      ]);
      if (seq !== this.seq) return;
      this.contact = contact;
      this.mergeCard.load(contact.id);
    } catch (error) {
      if (seq !== this.seq) return;
      this.error = describeError(error);
    }
    this.render();
  }

  async loadTags(force = false) {
    if (this.tags && !force) return this.tags;
    try {
      this.tags = (await this.api.get('/v1/tags')).items;
    } catch {
      this.tags = this.tags || [];
    }
    return this.tags;
  }

  render() {
    if (!this.conversation) return;
    const content = this.conversation.contact_id ? this.renderRegistered() : this.renderUnregistered();
    const error = h('p', { class: 'panel-error', role: 'alert', hidden: !this.error, text: this.error || '' });
    this.body.replaceChildren(...content, error);
  }

  // ------------------------------------------------------------------ not registered

  renderUnregistered() {
    const name = conversationTitle(this.conversation);
    const intro = h(
      'div',
      { class: 'contact-intro' },
      registrationMarker(false, { size: 'lg' }),
      h('div', {}, h('p', { class: 'contact-name', dir: 'auto', text: name }), h('p', { class: 'muted', text: t('contact.unregistered_hint') })),
    );
    return [intro, this.renderSearch(), h('p', { class: 'divider', text: t('contact.or') }), this.renderCreate()];
  }

  renderSearch() {
    const input = h('input', {
      id: 'contact-search',
      type: 'search',
      value: this.query || '',
      autocomplete: 'off',
      placeholder: t('contact.search_placeholder'),
      'aria-describedby': 'contact-search-hint',
    });
    const results = h('div', { class: 'search-results', 'aria-live': 'polite' }, this.renderResults());
    let timer = null;
    input.addEventListener('input', () => {
      clearTimeout(timer);
      this.query = input.value;
      timer = setTimeout(() => this.search(input.value, results), SEARCH_DELAY_MS);
    });
    const form = h(
      'form',
      { class: 'contact-search', role: 'search', on: { submit: (event) => { event.preventDefault(); clearTimeout(timer); this.search(input.value, results); } } },
      h('label', { for: 'contact-search', class: 'field-label', text: t('contact.search_label') }),
      input,
      h('p', { id: 'contact-search-hint', class: 'hint', text: t('contact.search_hint') }),
    );
    return h('section', { class: 'panel-section', 'aria-label': t('contact.search_label') }, form, results);
  }

  async search(value, container) {
    const query = value.trim();
    this.query = value;
    const seq = ++this.searchSeq;
    if (query.replace(/[^\p{L}\p{N}]/gu, '').length < MIN_QUERY) {
      this.results = query ? 'short' : null;
      container.replaceChildren(...this.renderResults());
      return;
    }
    this.results = 'loading';
    container.replaceChildren(...this.renderResults());
    try {
      const page = await this.api.get('/v1/contacts', { q: query, limit: 10 });
      if (seq !== this.searchSeq) return;
      this.results = page.items;
    } catch (error) {
      if (seq !== this.searchSeq) return;
      this.results = { error: describeError(error) };
    }
    container.replaceChildren(...this.renderResults());
  }

  renderResults() {
    const results = this.results;
    if (results === null || results === undefined) return [];
    if (results === 'short') return [h('p', { class: 'hint', text: t('contact.search_short') })];
    if (results === 'loading') return [h('p', { class: 'hint', text: t('contact.searching') })];
    if (results.error) return [h('p', { class: 'panel-error', text: results.error })];
    if (!results.length) return [h('p', { class: 'hint', text: t('contact.search_none') })];
    return [
      h(
        'ul',
        { class: 'result-list', 'aria-label': t('contact.search_results') },
        results.map((contact) => {
          const name = contactName(contact);
          const details = [contact.primary_phone || contact.whatsapp_phone, contact.emails?.[0]].filter(Boolean).join(' · ');
          return h(
            'li',
            { class: 'result', dataset: { contactId: contact.id } },
            h(
              'div',
              { class: 'result-main' },
              h('span', { class: 'result-name', dir: 'auto', text: name }),
              details ? h('span', { class: 'muted', text: details }) : null,
              contact.blocked ? h('span', { class: 'pill danger', text: t('contact.blocked') }) : null,
            ),
            h(
              'button',
              { type: 'button', class: 'secondary small', disabled: this.pending, on: { click: () => this.associate(contact) } },
              t('contact.associate'),
              h('span', { class: 'visually-hidden', text: `: ${name}` }),
            ),
          );
        }),
      ),
    ];
  }

  async associate(contact) {
    await this.link({ contact_id: contact.id }, t('contact.associated', { name: contactName(contact) }));
  }

  renderCreate() {
    const toggle = h(
      'button',
      {
        type: 'button',
        class: this.createOpen ? 'secondary' : 'primary',
        'aria-expanded': String(this.createOpen),
        'aria-controls': 'create-contact-form',
        on: {
          click: () => {
            this.createOpen = !this.createOpen;
            this.draft = this.draft || this.defaultDraft();
            this.error = null;
            this.render();
            if (this.createOpen) document.getElementById('new-first-name')?.focus();
          },
        },
      },
      t('contact.create_new'),
    );
    const section = h('section', { class: 'panel-section create-section' }, toggle);
    if (!this.createOpen) return section;

    const draft = this.draft;
    const errors = this.fieldErrors || {};
    const field = (id, name, labelKey, attrs = {}, required = false) => {
      const errorId = `${id}-error`;
      const input = h('input', {
        id,
        name,
        value: draft[name] || '',
        'aria-invalid': errors[name] ? 'true' : null,
        'aria-describedby': errors[name] ? errorId : null,
        'aria-required': required ? 'true' : null,
        ...attrs,
      });
      input.addEventListener('input', () => {
        draft[name] = input.value;
      });
      return h(
        'div',
        { class: 'field' },
        h('label', { for: id, class: 'field-label' }, t(labelKey), required ? h('span', { class: 'required', 'aria-hidden': 'true', text: ' *' }) : null),
        input,
        errors[name] ? h('p', { id: errorId, class: 'field-error', text: errors[name] }) : null,
      );
    };
    const consent = h('input', {
      id: 'new-consent',
      type: 'checkbox',
      name: 'consent',
      checked: Boolean(draft.consent),
      'aria-invalid': errors.consent ? 'true' : null,
      'aria-describedby': errors.consent ? 'new-consent-error' : null,
      'aria-required': 'true',
    });
    consent.addEventListener('change', () => {
      draft.consent = consent.checked;
    });
    const channelNote = t(`contact.identity_note.${this.conversation.channel}`, { handle: this.conversation.handle || '' });
    const form = h(
      'form',
      { id: 'create-contact-form', class: 'create-form', novalidate: true, on: { submit: (event) => this.create(event) } },
      h('div', { class: 'field-row' }, field('new-first-name', 'first_name', 'contact.first_name', { autocomplete: 'given-name', maxlength: 80 }, true), field('new-last-name', 'last_name', 'contact.last_name', { autocomplete: 'family-name', maxlength: 80 }, true)),
      field('new-phone', 'primary_phone', 'contact.phone', { type: 'tel', autocomplete: 'tel', maxlength: 40 }),
      field('new-email', 'email', 'contact.email', { type: 'email', autocomplete: 'email', maxlength: 254 }),
      h('p', { class: 'hint' }, icon('info', ''), channelNote),
      h(
        'div',
        { class: ['field', 'consent', errors.consent && 'invalid'] },
        h('label', { class: 'checkbox' }, consent, h('span', {}, t('contact.consent_label'), h('span', { class: 'required', 'aria-hidden': 'true', text: ' *' }))),
        errors.consent ? h('p', { id: 'new-consent-error', class: 'field-error', text: errors.consent }) : null,
      ),
      h(
        'div',
        { class: 'form-actions' },
        h('button', { type: 'submit', class: 'primary', disabled: this.pending }, this.pending ? t('contact.creating') : t('contact.create')),
        h('button', { type: 'button', class: 'ghost', on: { click: () => { this.createOpen = false; this.fieldErrors = null; this.error = null; this.render(); } } }, t('common.cancel')),
      ),
    );
    section.append(form);
    return section;
  }

  defaultDraft() {
    // Start from the name the channel gave us ("María Pérez"); the agent corrects it.
    const words = (this.conversation.display_name || '').trim().split(/\s+/).filter(Boolean);
    const looksLikeName = words.length >= 2 && !/\d/.test(this.conversation.display_name);
    return {
      first_name: looksLikeName ? words[0] : '',
      last_name: looksLikeName ? words.slice(1).join(' ') : '',
      primary_phone: '',
      email: '',
      consent: false,
    };
  }

  async create(event) {
    event.preventDefault();
    const draft = this.draft;
    const errors = {};
    if (!draft.first_name?.trim()) errors.first_name = t('errors.required');
    if (!draft.last_name?.trim()) errors.last_name = t('errors.required');
    if (draft.email?.trim() && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(draft.email.trim())) errors.email = t('contact.errors.email');
    if (!draft.consent) errors.consent = t('contact.errors.consent');
    this.fieldErrors = errors;
    if (Object.keys(errors).length) {
      this.error = t('contact.errors.fix_fields');
      this.render();
      this.focusFirstInvalid();
      return;
    }
    const contact = {
      first_name: draft.first_name.trim(),
      last_name: draft.last_name.trim(),
      consent: { given: true },
    };
    if (draft.primary_phone?.trim()) contact.primary_phone = draft.primary_phone.trim();
    if (draft.email?.trim()) contact.emails = [draft.email.trim()];
    await this.link({ contact }, t('contact.created', { name: `${contact.first_name} ${contact.last_name}` }));
  }

  focusFirstInvalid() {
    this.body.querySelector('[aria-invalid="true"]')?.focus();
  }

  /** POST /v1/conversations/{id}/contact: associate ({contact_id}) or create ({contact}). */
  async link(body, successMessage) {
    const seq = this.seq;
    const conversationId = this.conversation.id;
    this.pending = true;
    this.error = null;
    this.render();
    try {
      const result = await this.api.post(`/v1/conversations/${encodeURIComponent(conversationId)}/contact`, body);
      if (seq !== this.seq) return;
      this.pending = false;
      this.createOpen = false;
      this.query = '';
      this.fieldErrors = null;
      this.conversation = result.conversation;
      this.contact = result.contact;
      await this.loadTags();
      if (seq !== this.seq) return;
      this.render();
      announce(successMessage, 'success');
      this.onConversationChanged?.(result.conversation);
    } catch (error) {
      if (seq !== this.seq) return;
      this.pending = false;
      if (error.status === 422) {
        this.fieldErrors = { ...fieldErrors(error) };
        if (this.fieldErrors.emails) this.fieldErrors.email = this.fieldErrors.emails;
        this.createOpen = this.createOpen || 'contact' in body;
      }
      // Linking answers 409 naming the contact when the sender already belongs to another one.
      const linkedElsewhere = error.status === 409 && error.details?.contact_id;
      this.error = linkedElsewhere ? t('errors.already_linked') : describeError(error);
      this.render();
      if (error.status === 422) this.focusFirstInvalid();
    }
  }

  // ------------------------------------------------------------------ registered

  renderRegistered() {
    const contact = this.contact;
    if (!contact) {
      return [h('div', { class: 'contact-intro' }, registrationMarker(true, { size: 'lg' }), h('p', { class: 'muted', text: t('contact.loading') }))];
    }
    const name = contactName(contact);
    const header = h(
      'div',
      { class: 'contact-intro' },
      registrationMarker(true, { size: 'lg' }),
      h(
        'div',
        {},
        h('p', { class: 'contact-name', dir: 'auto', text: name }),
        h('p', { class: 'muted' }, t('contact.registered'), contact.blocked ? h('span', { class: 'pill danger', text: t('contact.blocked') }) : null),
      ),
    );
    const rows = [
      ['contact.phone', contact.primary_phone],
      ['contact.secondary_phones', contact.secondary_phones],
      ['contact.email', contact.emails],
      ['contact.whatsapp_phone', contact.whatsapp_phone],
      ['contact.facebook_id', contact.facebook_ids],
      ['contact.instagram_username', contact.instagram_usernames?.map((username) => (username.startsWith('@') ? username : `@${username}`))],
      ['contact.company', contact.company, true],
      ['contact.country', contact.country, true],
      ['contact.language', contact.language, true],
      ['contact.consent', contact.consent?.given ? t('contact.consent_given', { when: fullWhen(contact.consent.recorded_at) }) : null, true],
      ['contact.created_at', contact.created_at ? fullWhen(contact.created_at) : null, true],
    ];
    const list = h('dl', { class: 'contact-fields' });
    for (const [labelKey, value, optional] of rows) {
      const values = (Array.isArray(value) ? value : [value]).filter((item) => item !== null && item !== undefined && item !== '');
      if (!values.length && optional) continue;
      list.append(
        h(
          'div',
          { class: 'field-pair', dataset: { field: labelKey.split('.')[1] } },
          h('dt', { text: t(labelKey) }),
          values.length ? values.map((item) => h('dd', { dir: 'ltr', text: item })) : h('dd', { class: 'muted', text: '—' }),
        ),
      );
    }
    return [header, this.mergeCard.element, h('section', { class: 'panel-section', 'aria-label': t('contact.details') }, list), this.renderTags(), this.renderActions()];
  }

  renderTags() {
    const contact = this.contact;
    const names = new Map((this.tags || []).map((tag) => [tag.id, tag]));
    const chips = contact.tags.map((tagId) => {
      const tag = names.get(tagId);
      const label = tag?.name || tagId;
      const chip = h(
        'li',
        { class: 'tag' },
        h('span', { dir: 'auto', text: label }),
        h('button', { type: 'button', class: 'tag-remove', 'aria-label': t('tags.remove', { name: label }), title: t('tags.remove', { name: label }), disabled: this.pending, on: { click: () => this.changeTag('remove', tagId) } }, '×'),
      );
      if (/^#[0-9a-f]{6}$/i.test(tag?.color || '')) {
        // A CSSOM property (allowed by the CSP, unlike a style attribute), from a validated colour.
        chip.classList.add('colored');
        chip.style.setProperty('--tag-color', tag.color);
      }
      return chip;
    });
    const available = (this.tags || []).filter((tag) => !contact.tags.includes(tag.id));
    const section = h(
      'section',
      { class: 'panel-section tags', 'aria-labelledby': 'tags-title' },
      h('h3', { id: 'tags-title', text: t('tags.title') }),
      chips.length ? h('ul', { class: 'tag-list' }, chips) : h('p', { class: 'muted', text: t('tags.none') }),
    );
    if (available.length) {
      const select = h('select', { id: 'add-tag', class: 'small' }, h('option', { value: '', text: t('tags.choose') }), available.map((tag) => h('option', { value: tag.id, text: tag.name })));
      section.append(
        h(
          'form',
          { class: 'inline-form', on: { submit: (event) => { event.preventDefault(); if (select.value) this.changeTag('add', select.value); } } },
          h('label', { for: 'add-tag', class: 'visually-hidden', text: t('tags.add') }),
          select,
          h('button', { type: 'submit', class: 'secondary small', disabled: this.pending, text: t('tags.add') }),
        ),
      );
    } else if (!(this.tags || []).length) {
      section.append(h('p', { class: 'hint', text: t('tags.none_in_workspace') }));
    }
    return section;
  }

  async changeTag(action, tagId) {
    const id = encodeURIComponent(this.contact.id);
    await this.contactAction(() =>
      action === 'add' ? this.api.post(`/v1/contacts/${id}/tags`, { tag_id: tagId }) : this.api.del(`/v1/contacts/${id}/tags/${encodeURIComponent(tagId)}`),
    );
  }

  renderActions() {
    const contact = this.contact;
    const name = contactName(contact);
    const section = h('section', { class: 'panel-section actions', 'aria-label': t('contact.actions') });
    if (this.confirming) {
      const question = this.confirming === 'block' ? t('contact.block_confirm', { name }) : t('contact.unlink_confirm', { name });
      section.append(
        h('p', { class: 'confirm-text', role: 'alert', text: question }),
        h(
          'div',
          { class: 'form-actions' },
          h('button', { type: 'button', class: this.confirming === 'block' ? 'danger' : 'primary', disabled: this.pending, on: { click: () => (this.confirming === 'block' ? this.block() : this.unlink()) } }, this.confirming === 'block' ? t('contact.block_yes') : t('contact.unlink_yes')),
          h('button', { type: 'button', class: 'ghost', on: { click: () => { this.confirming = null; this.render(); } } }, t('common.cancel')),
        ),
      );
      return section;
    }
    const buttons = [];
    if (can(this.role, 'contacts.unlink')) {
      buttons.push(h('button', { type: 'button', class: 'secondary', on: { click: () => this.confirm('unlink') } }, t('contact.unlink')));
    }
    if (contact.blocked) {
      if (can(this.role, 'contacts.unblock')) buttons.push(h('button', { type: 'button', class: 'secondary', disabled: this.pending, on: { click: () => this.unblock() } }, t('contact.unblock')));
    } else {
      buttons.push(h('button', { type: 'button', class: 'danger-outline', on: { click: () => this.confirm('block') } }, t('contact.block')));
    }
    section.append(h('div', { class: 'form-actions' }, buttons));
    if (!can(this.role, 'contacts.unlink')) section.append(h('p', { class: 'hint', text: t('contact.unlink_admins_only') }));
    return section;
  }

  confirm(what) {
    this.confirming = what;
    this.error = null;
    this.render();
    this.body.querySelector('.actions button')?.focus();
  }

  async contactAction(call, successMessage) {
    const seq = this.seq;
    this.pending = true;
    this.error = null;
    this.render();
    try {
      const contact = await call();
      if (seq !== this.seq) return null;
      this.contact = contact;
      this.pending = false;
      this.confirming = null;
      this.render();
      if (successMessage) announce(successMessage, 'success');
      return contact;
    } catch (error) {
      if (seq !== this.seq) return null;
      this.pending = false;
      this.error = describeError(error);
      this.render();
      return null;
    }
  }

  async block() {
    const id = encodeURIComponent(this.contact.id);
    const contact = await this.contactAction(() => this.api.post(`/v1/contacts/${id}/block`), t('contact.blocked_done', { name: contactName(this.contact) }));
    if (contact) this.onContactBlocked?.(contact);
  }

  async unblock() {
    const id = encodeURIComponent(this.contact.id);
    const contact = await this.contactAction(() => this.api.post(`/v1/contacts/${id}/unblock`), t('contact.unblocked_done', { name: contactName(this.contact) }));
    if (contact) this.onContactBlocked?.(contact);
  }

  async unlink() {
    const seq = this.seq;
    this.pending = true;
    this.render();
    try {
      const conversation = await this.api.del(`/v1/conversations/${encodeURIComponent(this.conversation.id)}/contact`);
      if (seq !== this.seq) return;
      announce(t('contact.unlinked_done'), 'success');
      this.show(conversation);
      this.onConversationChanged?.(conversation);
    } catch (error) {
      if (seq !== this.seq) return;
      this.pending = false;
      this.error = describeError(error);
      this.render();
    }
  }
}
