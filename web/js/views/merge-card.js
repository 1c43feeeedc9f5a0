// "Posibles duplicados" in the contact panel: the registered contact's merge suggestions, each with
// the other contact and the shared values marked, "Fusionar" (accept: this contact survives) and
// "Descartar"; after a merge, "Fusión realizada" with "Deshacer fusión" — also when the contact is
// shown again later: the merges made in this browser session are remembered, and owners and managers
// find the contact's latest merge in the history (GET /v1/merges).
import { announce, h } from '../dom.js';
import { t } from '../i18n.js';
import { describeError } from '../errors.js';
import { contactName } from '../format.js';

function valuesOf(contact) {
  const phones = [contact.primary_phone, ...(contact.secondary_phones || []), contact.whatsapp_phone];
  return [...phones.map((value) => ['phone', value]), ...(contact.emails || []).map((value) => ['email', value])].filter(([, value]) => value);
}

const digits = (value) => String(value).replace(/\D/g, '');

function isShared(kind, value, shared) {
  const phone = digits(value).slice(-10);
  return shared.some((item) => item.kind === kind && (kind === 'phone' ? phone.length >= 7 && digits(item.value).endsWith(phone) : item.value.toLowerCase() === String(value).toLowerCase()));
}

const REMEMBERED_KEY = 'inbox-crm:merges';

/** survivor contact id -> the merge that kept it, for merges made in this tab (agents cannot list). */
function remembered() {
  try {
    return JSON.parse(sessionStorage.getItem(REMEMBERED_KEY) || '{}');
  } catch {
    return {};
  }
}

function remember(contactId, merge) {
  const merges = remembered();
  if (merge) merges[contactId] = merge;
  else delete merges[contactId];
  try {
    sessionStorage.setItem(REMEMBERED_KEY, JSON.stringify(merges));
  } catch {
    // not remembered: the undo stays reachable until the panel changes
  }
}

export class MergeCard {
  constructor({ api, onContactChanged, canReadMerges = () => false }) {
    this.api = api;
    this.canReadMerges = canReadMerges;
    this.onContactChanged = onContactChanged;
    this.element = h('section', { class: 'panel-section merge-card', hidden: true });
    this.reset(null);
  }

  reset(contactId) {
    this.contactId = contactId;
    this.items = [];
    this.others = new Map();
    this.merged = null;
    this.busy = false;
    this.error = null;
    this.seq = (this.seq || 0) + 1;
    this.render();
  }

  async load(contactId) {
    if (contactId !== this.contactId) this.reset(contactId);
    const seq = this.seq;
    try {
      const [page, merged] = await Promise.all([
        this.api.get(`/v1/contacts/${encodeURIComponent(contactId)}/merge-suggestions`),
        this.lastMerge(contactId),
      ]);
      const others = await Promise.all(page.items.map((item) => this.other(item)));
      if (seq !== this.seq) return;
      this.items = page.items.filter((item, index) => others[index]);
      if (!this.merged && merged) this.merged = merged;
    } catch (error) {
      if (seq !== this.seq) return;
      this.items = [];
      if (error.status !== 403) this.error = describeError(error);
    }
    this.render();
  }

  /** The contact's latest merge that can still be undone, if any. */
  async lastMerge(contactId) {
    let merge = remembered()[contactId] || null;
    if (this.canReadMerges()) {
      try {
        const history = await this.api.get('/v1/merges', { limit: 50 });
        merge = history.items.find((item) => item.survivor_id === contactId) || merge;
      } catch {
        // the remembered merge, if any
      }
    }
    return merge && merge.status === 'done' ? merge : null;
  }

  async other(suggestion) {
    const id = suggestion.contact_ids.find((contactId) => contactId !== this.contactId) || suggestion.target_contact_id;
    if (!id) return null;
    if (!this.others.has(id)) {
      try {
        this.others.set(id, await this.api.get(`/v1/contacts/${encodeURIComponent(id)}`));
      } catch {
        return null;
      }
    }
    return this.others.get(id);
  }

  async act(call, after) {
    if (this.busy) return;
    const seq = this.seq;
    this.busy = true;
    this.error = null;
    this.render();
    try {
      const result = await call();
      if (seq !== this.seq) return;
      this.busy = false;
      await after(result);
    } catch (error) {
      if (seq !== this.seq) return;
      this.busy = false;
      this.error = describeError(error);
    }
    this.render();
  }

  merge(suggestion) {
    const body = suggestion.kind === 'shared_value' ? { survivor_id: this.contactId } : {};
    return this.act(
      () => this.api.post(`/v1/merge-suggestions/${encodeURIComponent(suggestion.id)}/accept`, body),
      async (result) => {
        this.merged = result.merge;
        remember(result.merge.survivor_id, result.merge);
        this.items = this.items.filter((item) => item.id !== suggestion.id);
        announce(t('merge.done'), 'success');
        this.onContactChanged?.(result.contact);
      },
    );
  }

  dismiss(suggestion) {
    return this.act(
      () => this.api.post(`/v1/merge-suggestions/${encodeURIComponent(suggestion.id)}/dismiss`),
      async () => {
        this.items = this.items.filter((item) => item.id !== suggestion.id);
      },
    );
  }

  undo() {
    const merge = this.merged;
    return this.act(
      () => this.api.post(`/v1/merges/${encodeURIComponent(merge.id)}/undo`),
      async (result) => {
        this.merged = null;
        remember(merge.survivor_id, null);
        announce(t('merge.undone'), 'success');
        this.onContactChanged?.(result.contact);
        await this.load(this.contactId);
      },
    );
  }

  render() {
    const children = [];
    if (this.merged) {
      children.push(
        h('p', { class: 'merge-done', role: 'status', text: t('merge.done') }),
        h('button', { type: 'button', class: 'secondary', disabled: this.busy, text: t('merge.undo'), on: { click: () => this.undo() } }),
      );
    }
    if (this.items.length) {
      children.push(h('h3', { text: t('merge.title') }), h('ul', { class: 'merge-list' }, this.items.map((item) => this.renderItem(item))));
    }
    if (this.error) children.push(h('p', { class: 'panel-error', role: 'alert', text: this.error }));
    this.element.setAttribute('aria-label', t('merge.title'));
    this.element.replaceChildren(...children);
    this.element.hidden = !children.length;
  }

  renderItem(suggestion) {
    const other = this.others.get(suggestion.contact_ids.find((id) => id !== this.contactId) || suggestion.target_contact_id);
    const shared = suggestion.shared || [];
    const values = valuesOf(other);
    for (const item of shared) if (!values.some(([kind, value]) => isShared(kind, value, [item]))) values.push([item.kind, item.value]);
    const seen = new Set();
    const rows = values
      .filter(([kind, value]) => !seen.has(`${kind}:${value}`) && seen.add(`${kind}:${value}`))
      .map(([kind, value]) =>
        isShared(kind, value, shared)
          ? h('li', { dir: 'ltr' }, h('mark', { class: 'shared', title: t('merge.shared'), text: value }))
          : h('li', { dir: 'ltr', text: value }),
      );
    return h(
      'li',
      { class: 'merge-item', dataset: { suggestionId: suggestion.id } },
      h('p', { class: 'contact-name', dir: 'auto', text: contactName(other) }),
      h('ul', { class: 'merge-values', 'aria-label': t('merge.values') }, rows),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'primary', disabled: this.busy, text: t('merge.merge'), on: { click: () => this.merge(suggestion) } }),
        h('button', { type: 'button', class: 'secondary', disabled: this.busy, text: t('merge.dismiss'), on: { click: () => this.dismiss(suggestion) } }),
      ),
    );
  }
}
