// Dates, channel names and other small localized formatting.
import { t, locale } from './i18n.js';

export const CHANNELS = ['messenger', 'instagram', 'whatsapp'];

export function channelName(channel, kind) {
  if (kind === 'comment') return t('channel.facebook_comments');
  return t(`channel.${channel}`);
}

/** Icon file for a conversation: Page comments get their own. */
export function channelIcon(channel, kind) {
  if (kind === 'comment') return 'comment';
  return CHANNELS.includes(channel) ? channel : 'chat';
}

function asDate(value) {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** Inbox list: a time today, "15 jun" this year, a short date otherwise. */
export function shortWhen(value, now = new Date()) {
  const date = asDate(value);
  if (!date) return '';
  if (sameDay(date, now)) return new Intl.DateTimeFormat(locale(), { hour: 'numeric', minute: '2-digit' }).format(date);
  if (date.getFullYear() === now.getFullYear()) {
    return new Intl.DateTimeFormat(locale(), { day: 'numeric', month: 'short' }).format(date);
  }
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'short' }).format(date);
}

export function timeOnly(value) {
  const date = asDate(value);
  return date ? new Intl.DateTimeFormat(locale(), { hour: 'numeric', minute: '2-digit' }).format(date) : '';
}

export function fullWhen(value) {
  const date = asDate(value);
  return date ? new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(date) : '';
}

export function dayKey(value) {
  const date = asDate(value);
  return date ? `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}` : '';
}

export function dayLabel(value, now = new Date()) {
  const date = asDate(value);
  if (!date) return '';
  if (sameDay(date, now)) return t('time.today');
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (sameDay(date, yesterday)) return t('time.yesterday');
  return new Intl.DateTimeFormat(locale(), { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }).format(date);
}

/** last_preview may be a token such as "[image]" for an attachment: show a localized label. */
export function previewText(preview) {
  if (!preview) return '';
  const token = /^\[([a-z_]+)\]$/.exec(preview.trim());
  if (!token) return preview;
  const key = `attachment.${token[1]}`;
  const label = t(key);
  return label === key ? t('attachment.other') : label;
}

export function initials(name) {
  const words = String(name || '').trim().split(/\s+/).filter(Boolean);
  const letters = words.slice(0, 2).map((word) => Array.from(word)[0] || '');
  return letters.join('').toUpperCase() || '?';
}

export function conversationTitle(conversation) {
  return conversation.display_name || conversation.handle || t('conversation.unknown_sender');
}

export function contactName(contact) {
  const full = [contact.first_name, contact.last_name].filter(Boolean).join(' ');
  return full || contact.display_name || contact.emails?.[0] || contact.primary_phone || t('contact.no_name');
}

/** The reply window as one sentence, and whether a free-form reply is allowed now. */
export function replyWindowState(conversation, now = new Date()) {
  const windowInfo = conversation.reply_window || {};
  const standard = asDate(windowInfo.standard_until);
  const human = asDate(windowInfo.human_agent_until);
  // The server decides whether a reply is allowed; the dates only word it.
  const open = Boolean(windowInfo.open);
  if (!standard && !human) return { open, text: t('window.no_inbound'), level: 'closed' };
  if (standard && standard > now) {
    return { open, text: t('window.open_until', { when: fullWhen(standard) }), level: 'open' };
  }
  if (human && human > now) {
    return { open, text: t('window.human_agent_until', { when: fullWhen(human) }), level: 'warning' };
  }
  const key = conversation.channel === 'whatsapp' ? 'window.closed_whatsapp' : 'window.closed';
  return { open, text: t(key, { when: fullWhen(human || standard) }), level: 'closed' };
}
