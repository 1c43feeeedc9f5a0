// The registered (orange) / not registered (grey) contact marker and the channel badge.
import { h, icon } from '../dom.js';
import { t } from '../i18n.js';
import { channelIcon, channelName } from '../format.js';

export function registrationMarker(registered, { size = 'md', channel = null, kind = 'direct' } = {}) {
  const label = registered ? t('contact.registered') : t('contact.not_registered');
  return h(
    'span',
    {
      class: ['avatar', `avatar-${size}`, registered ? 'registered' : 'unregistered'],
      dataset: { registered: String(Boolean(registered)) },
    },
    h('span', { class: 'avatar-person', role: 'img', 'aria-label': label, title: label }, icon('person', '', 'person-icon')),
    channel ? h('span', { class: 'avatar-channel' }, icon(channelIcon(channel, kind), channelName(channel, kind), 'channel-icon')) : null,
  );
}
