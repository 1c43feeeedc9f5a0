// One message of a conversation, from the API's MessageOut. Text is only ever set as text.
import { h, icon, linkifiedText, safeUrl } from '../dom.js';
import { locale, t } from '../i18n.js';
import { fullWhen, timeOnly } from '../format.js';

const ORIGINS = ['app', 'meta_inbox', 'page', 'agent', 'flow', 'business'];
const STATUS_MARKS = { queued: '🕓', scheduled: '🕓', sending: '🕓', unknown: '?', cancelled: '✕', sent: '✓', delivered: '✓✓', read: '✓✓', failed: '!' };

/** What a rendered message depends on: presigned download URLs change on every fetch, not the message. */
export function messageSignature(message) {
  return JSON.stringify(message, (key, value) => (key === 'download_url' ? undefined : value));
}

// onRetry(message): the agent's explicit decision to send again a message whose outcome is unknown.
export function renderMessage(message, { byPlatformId, onRetry }) {
  const outbound = message.direction === 'outbound';
  const bubble = h('div', { class: 'bubble' });
  const item = h(
    'li',
    {
      class: ['msg', outbound ? 'out' : 'in', message.deleted && 'deleted', message.standby && 'standby'],
      dataset: { messageId: message.id, direction: message.direction },
    },
    bubble,
  );

  if (outbound && ORIGINS.includes(message.origin)) {
    bubble.append(h('p', { class: 'msg-origin', text: t(`origin.${message.origin}`) }));
  }
  if (message.reply_to) bubble.append(quote(byPlatformId.get(message.reply_to)));

  if (message.deleted) {
    bubble.append(h('p', { class: 'msg-text tombstone' }, icon('trash', ''), t('message.deleted')));
  } else {
    if (message.text) bubble.append(h('p', { class: 'msg-text', dir: 'auto' }, linkifiedText(message.text)));
    const attachments = (message.attachments || []).map(renderAttachment);
    if (attachments.length) bubble.append(h('div', { class: 'attachments' }, attachments));
    const chips = dataChips(message);
    if (chips.length) bubble.append(h('ul', { class: 'msg-chips' }, chips.map((chip) => h('li', {}, chip))));
    if (!message.text && !attachments.length && !chips.length) {
      bubble.append(h('p', { class: 'msg-text muted', text: t('message.no_content') }));
    }
  }

  bubble.append(meta(message, outbound));
  if (outbound && message.status === 'failed' && message.error_code === 'delivery_unconfirmed') {
    bubble.append(retryNote(message, onRetry, 'status.unconfirmed_note', 'status.retry'));
  } else if (outbound && message.status === 'failed') {
    bubble.append(
      h('p', { class: 'msg-error', role: 'note' }, t('status.failed_reason', { reason: message.error_reason || message.error_code || '?' })),
    );
  }
  if (outbound && message.status === 'unknown') {
    bubble.append(retryNote(message, onRetry, 'status.unknown_note', 'status.retry_unknown'));
  }
  const reactions = reactionList(message.reactions);
  if (reactions) item.append(reactions);
  return item;
}

// Meta's answer was lost (unknown), or Meta never confirmed the message (delivery_unconfirmed): it
// may or may not have arrived. Sending it again is the agent's decision, never automatic.
function retryNote(message, onRetry, noteKey, buttonKey) {
  const note = h('p', { class: 'msg-error msg-unknown', role: 'note' }, h('span', { text: t(noteKey) }));
  if (onRetry) {
    const button = h('button', { type: 'button', class: 'ghost retry-unknown', text: t(buttonKey) });
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await onRetry(message);
      } finally {
        button.disabled = false;
      }
    });
    note.append(' ', button);
  }
  return note;
}

function quote(original) {
  let text = t('message.reply_to_unknown');
  if (original) {
    if (original.deleted) text = t('message.deleted');
    else if (original.text) text = original.text;
    else if (original.attachments?.length) text = attachmentLabel(original.attachments[0].type);
  }
  return h('blockquote', { class: 'msg-quote', dir: 'auto' }, h('span', { class: 'visually-hidden', text: t('message.in_reply_to') }), text);
}

function meta(message, outbound) {
  const row = h('div', { class: 'msg-meta' });
  const edits = (message.edits || []).filter((edit) => edit.previous_text !== undefined);
  if (edits.length) {
    const history = h(
      'details',
      { class: 'edits', title: edits.map((edit) => edit.previous_text || '').join('\n—\n') },
      h('summary', { text: t('message.edited') }),
      h(
        'ol',
        { class: 'edit-list', 'aria-label': t('message.edit_history') },
        edits.map((edit) =>
          h('li', {}, h('span', { class: 'edit-when', text: fullWhen(edit.at) }), h('span', { class: 'edit-text', dir: 'auto', text: edit.previous_text || '—' })),
        ),
      ),
    );
    row.append(history);
  }
  row.append(h('time', { datetime: message.sent_at, title: fullWhen(message.sent_at), text: timeOnly(message.sent_at) }));
  if (outbound && message.status) {
    const key = `status.${message.status}`;
    const label = t(key) === key ? message.status : t(key);
    row.append(
      h('span', {
        class: ['status-mark', `status-${message.status}`],
        role: 'img',
        'aria-label': label,
        title: label,
        text: STATUS_MARKS[message.status] || '•',
      }),
    );
  }
  return row;
}

function reactionList(reactions) {
  const counts = new Map();
  for (const reaction of Object.values(reactions || {})) {
    if (reaction?.emoji) counts.set(reaction.emoji, (counts.get(reaction.emoji) || 0) + 1);
  }
  if (!counts.size) return null;
  return h(
    'ul',
    { class: 'reactions', 'aria-label': t('message.reactions') },
    [...counts].map(([emoji, count]) =>
      h('li', { title: t('message.reaction_count', { count }) }, emoji, count > 1 ? h('span', { class: 'count', text: String(count) }) : null),
    ),
  );
}

function dataChips(message) {
  const data = message.data || {};
  const chips = [];
  if (data.quick_reply_payload) chips.push(t('message.quick_reply'));
  if (data.postback) chips.push(t('message.postback', { title: data.postback.title || data.postback.payload || '' }));
  if (data.interactive) chips.push(t('message.interactive'));
  if (data.referral) {
    const referral = data.referral;
    const title = referral.ads_context_data?.ad_title || referral.headline || referral.ref || '';
    chips.push(referral.source === 'ADS' || referral.source_type === 'ad' ? t('message.from_ad', { title }) : t('message.referral', { title }));
  }
  if (data.reply_to_story) {
    const url = safeUrl(data.reply_to_story.url);
    chips.push(url ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', text: t('message.story_reply') }) : t('message.story_reply'));
  }
  if (data.forwarded) chips.push(t('message.forwarded'));
  if (data.unsupported && !(message.attachments || []).some((a) => a.type === 'unsupported')) chips.push(t('attachment.unsupported'));
  if (data.comment) {
    const url = safeUrl(data.comment.post_permalink);
    const label = data.comment.is_reply ? t('message.comment_reply') : t('message.comment');
    chips.push(url ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', text: label }) : label);
  }
  if (message.standby) chips.push(t('message.standby'));
  if (message.truncated) chips.push(t('message.truncated'));
  return chips;
}

export function attachmentLabel(type) {
  const key = `attachment.${type}`;
  const label = t(key);
  return label === key ? t('attachment.other') : label;
}

function external(url, text, className = 'att-link') {
  return h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', class: className, text });
}

/** An image that degrades to a labelled placeholder when it cannot load (expired CDN urls). */
function image(url, alt, className, label = alt) {
  const figure = h('figure', { class: ['att-image', className] });
  const placeholder = h('span', { class: 'media-fallback' }, icon('image', ''), label);
  if (!url) {
    figure.classList.add('broken');
    figure.append(placeholder);
    return figure;
  }
  const img = h('img', { src: url, alt, loading: 'lazy', decoding: 'async', referrerpolicy: 'no-referrer' });
  img.addEventListener('error', () => figure.classList.add('broken'), { once: true });
  figure.append(h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, img), placeholder);
  return figure;
}

function unavailableMedia(type, attachment) {
  // Neither a URL nor our copy (WhatsApp media not fetched yet, or fetching failed).
  return h(
    'p',
    { class: 'att-file', title: attachment.media_id ? `media_id ${attachment.media_id}` : null },
    icon(type === 'audio' ? 'audio' : type === 'video' ? 'video' : 'file', ''),
    h('span', { text: attachmentLabel(type) }),
    h('span', { class: 'muted', text: t('attachment.not_downloadable') }),
  );
}

function renderAttachment(attachment) {
  // WhatsApp media comes as an id: the API answers our stored copy as download_url (presigned).
  const url = safeUrl(attachment.download_url) || safeUrl(attachment.url);
  const payload = attachment.payload || {};
  const parts = [];
  switch (attachment.type) {
    case 'image':
      parts.push(image(url, attachment.caption || attachment.title || t('attachment.image'), 'thumb', t('attachment.image_unavailable')));
      break;
    case 'sticker':
      parts.push(image(url, t('attachment.sticker'), 'sticker'));
      break;
    case 'video':
      // No thumbnail comes with a video: a link opens it rather than an empty black player.
      if (url) parts.push(h('p', { class: 'att-file' }, icon('video', ''), h('span', { text: t('attachment.video') }), external(url, t('attachment.open_video'))));
      else parts.push(unavailableMedia('video', attachment));
      break;
    case 'audio': {
      const label = attachment.voice ? t('attachment.voice') : t('attachment.audio');
      if (url) parts.push(h('p', { class: 'att-file' }, icon('audio', ''), label), h('audio', { src: url, controls: true, preload: 'none' }), external(url, t('attachment.download')));
      else parts.push(unavailableMedia('audio', attachment));
      break;
    }
    case 'file':
    case 'document': {
      const name = attachment.filename || attachment.title || fileNameOf(url) || t('attachment.file');
      if (url) parts.push(h('p', { class: 'att-file' }, icon('file', ''), external(url, name)));
      else parts.push(h('p', { class: 'att-file' }, icon('file', ''), h('span', { text: name }), h('span', { class: 'muted', text: t('attachment.not_downloadable') })));
      break;
    }
    case 'location':
      parts.push(location(attachment, url, payload));
      break;
    case 'story_mention':
      parts.push(
        h('div', { class: 'att-card story' }, icon('story', ''), h('span', { text: t('attachment.story_mention_long') }), url ? external(url, t('attachment.view_story')) : null, h('small', { class: 'muted', text: t('attachment.story_expires') })),
      );
      break;
    case 'template':
      for (const element of payload.product?.elements || payload.elements || []) parts.push(product(element));
      if (!parts.length) parts.push(card(attachmentLabel('template'), attachment.title, url));
      break;
    case 'contacts':
      for (const shared of payload.contacts || []) parts.push(sharedContact(shared));
      break;
    case 'order':
      parts.push(order(payload));
      break;
    case 'unsupported':
      parts.push(h('p', { class: 'att-file muted', text: t('attachment.unsupported') }));
      break;
    default:
      parts.push(card(attachmentLabel(attachment.type), attachment.title, url));
  }
  if (attachment.caption) parts.push(h('p', { class: 'att-caption', dir: 'auto', text: attachment.caption }));
  return h('div', { class: 'attachment', dataset: { type: attachment.type } }, parts);
}

function fileNameOf(url) {
  if (!url) return null;
  try {
    const name = decodeURIComponent(new URL(url).pathname.split('/').pop() || '');
    return name || null;
  } catch {
    return null;
  }
}

function card(kind, title, url) {
  return h(
    'div',
    { class: 'att-card' },
    h('span', { class: 'att-kind', text: kind }),
    title ? h('span', { class: 'att-title', dir: 'auto', text: title }) : null,
    url ? external(url, t('attachment.open_link')) : null,
  );
}

function location(attachment, url, payload) {
  const lat = Number(payload.latitude);
  const lon = Number(payload.longitude);
  const hasPoint = Number.isFinite(lat) && Number.isFinite(lon) && payload.latitude !== undefined;
  const mapUrl = safeUrl(payload.url) || url || (hasPoint ? `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}` : null);
  return h(
    'div',
    { class: 'att-card location' },
    icon('location', ''),
    h('span', { class: 'att-kind', text: t('attachment.location') }),
    payload.name || attachment.title ? h('span', { class: 'att-title', dir: 'auto', text: payload.name || attachment.title }) : null,
    payload.address ? h('span', { class: 'muted', dir: 'auto', text: payload.address }) : null,
    hasPoint ? h('span', { class: 'muted coords', text: `${lat.toFixed(5)}, ${lon.toFixed(5)}` }) : null,
    mapUrl ? external(mapUrl, t('attachment.open_map')) : null,
  );
}

function product(element) {
  const imageUrl = safeUrl(element.image_url);
  return h(
    'div',
    { class: 'att-card product' },
    imageUrl ? image(imageUrl, element.title || t('attachment.product'), 'product-image') : null,
    h('span', { class: 'att-kind', text: t('attachment.product') }),
    h('span', { class: 'att-title', dir: 'auto', text: element.title || element.retailer_id || '' }),
    element.subtitle ? h('span', { class: 'muted', text: element.subtitle }) : null,
  );
}

function sharedContact(shared) {
  const name = shared.name?.formatted_name || [shared.name?.first_name, shared.name?.last_name].filter(Boolean).join(' ');
  return h(
    'div',
    { class: 'att-card' },
    h('span', { class: 'att-kind', text: t('attachment.contacts') }),
    h('span', { class: 'att-title', dir: 'auto', text: name || '—' }),
    (shared.phones || []).map((phone) => h('span', { class: 'muted', text: phone.phone || phone.wa_id })),
    (shared.emails || []).map((email) => h('span', { class: 'muted', text: email.email })),
    shared.org?.company ? h('span', { class: 'muted', text: shared.org.company }) : null,
  );
}

function order(payload) {
  const items = payload.product_items || [];
  return h(
    'div',
    { class: 'att-card order' },
    h('span', { class: 'att-kind', text: t('attachment.order') }),
    h(
      'ul',
      { class: 'order-items' },
      items.map((item) => h('li', { text: `${item.quantity ?? 1} × ${item.product_retailer_id || '?'} — ${formatMoney(item.item_price, item.currency)}` })),
    ),
  );
}

function formatMoney(amount, currency) {
  if (amount === undefined || amount === null) return '';
  try {
    return new Intl.NumberFormat(locale(), { style: 'currency', currency: currency || 'MXN' }).format(amount);
  } catch {
    return `${amount} ${currency || ''}`.trim();
  }
}
