// Canales (seed 002): the workspace's channels as this contact sees them. Active: the contact has
// talked on it (its last activity shown; owners and managers may remove it — the conversations stay
// with the sender). Inactive: WhatsApp when the contact has a phone but has not written yet (a first
// message, a template, connects it). Unavailable: the contact must write first.
import { h, icon, announce } from '../dom.js';
import { t } from '../i18n.js';
import { describeError } from '../errors.js';
import { channelName, contactName, fullWhen } from '../format.js';
import { emptyState, errorState, loadingState } from '../states.js';

export async function channelsTab(body, { api, can, contact, channels, onChange }) {
  body.replaceChildren(loadingState(t('contacts.channels_loading')));
  let conversations;
  try {
    conversations = (await api.get(`/v1/contacts/${encodeURIComponent(contact.id)}/conversations`)).items;
  } catch (error) {
    body.replaceChildren(errorState({ error, onRetry: () => channelsTab(body, { api, can, contact, channels, onChange }) }));
    return;
  }
  const workspace = [...channels().values()];
  const cards = [];
  const used = new Set();
  for (const identity of contact.identities) {
    const channel = workspace.find((item) => item.platform === identity.channel && item.account_id === identity.account_id);
    if (channel) used.add(channel.id);
    const own = conversations.filter((item) => item.identity_id === identity.id);
    const last = own.map((item) => item.last_activity_at).sort().at(-1);
    cards.push(card({
      state: 'active',
      platform: identity.channel,
      name: channel?.name || identity.account_id,
      handle: identity.username ? `@${identity.username}` : identity.phone || null,
      detail: last ? t('contacts.channel_last_activity', { when: fullWhen(last) }) : t('contacts.channel_no_activity'),
      action: can('contacts.unlink') && own.length
        ? h('button', { type: 'button', class: 'danger-outline small', text: t('contacts.channel_remove'), 'aria-label': t('contacts.channel_remove_named', { channel: channel?.name || channelName(identity.channel) }), on: { click: () => confirmRemove(own[0].id) } })
        : null,
    }));
  }
  const phone = contact.whatsapp_phone || contact.primary_phone;
  for (const channel of workspace.filter((item) => !used.has(item.id))) {
    const inactive = channel.platform === 'whatsapp' && phone;
    cards.push(card({
      state: inactive ? 'inactive' : 'unavailable',
      platform: channel.platform,
      name: channel.name,
      handle: inactive ? phone : null,
      detail: t(inactive ? 'contacts.channel_inactive_text' : 'contacts.channel_unavailable_text'),
    }));
  }
  if (!cards.length) {
    body.replaceChildren(emptyState({ iconName: 'info', title: t('contacts.channels_empty_title'), text: t('contacts.channels_empty_text') }));
    return;
  }
  const order = { active: 0, inactive: 1, unavailable: 2 };
  cards.sort((a, b) => order[a.dataset.state] - order[b.dataset.state]);
  body.replaceChildren(h('ul', { class: 'channel-cards', 'aria-label': t('contacts.tab_channels') }, cards));

  function confirmRemove(conversationId) {
    const dialog = h('dialog', { class: 'confirm-dialog', 'aria-labelledby': 'channel-remove-title' },
      h('h2', { id: 'channel-remove-title', text: t('contacts.channel_remove_title') }),
      h('p', { text: t('contacts.channel_remove_text', { name: contactName(contact) }) }),
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'secondary', text: t('common.cancel'), on: { click: () => dialog.close() } }),
        h('button', { type: 'button', class: 'danger', text: t('contacts.channel_remove'), on: { click: async () => {
          dialog.close();
          try {
            await api.del(`/v1/conversations/${encodeURIComponent(conversationId)}/contact`);
            announce(t('contacts.channel_removed'), 'success');
            onChange(await api.get(`/v1/contacts/${encodeURIComponent(contact.id)}`));
          } catch (error) {
            announce(describeError(error), 'error');
          }
        } } })));
    dialog.addEventListener('close', () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
  }
}

function card({ state, platform, name, handle, detail, action }) {
  return h('li', { class: ['channel-card', `channel-${state}`], dataset: { state, platform } },
    icon(platform, '', 'channel-card-icon'),
    h('div', { class: 'grow' },
      h('p', { class: 'strong' }, h('span', { dir: 'auto', text: name }), ' ', h('span', { class: `pill channel-pill-${state}`, text: t(`contacts.channel_${state}`) })),
      handle ? h('p', { class: 'muted', dir: 'ltr', text: handle }) : null,
      h('p', { class: 'muted small-text', text: detail })),
    action || null);
}
