// API errors in the user's language. The server's own message is kept for what we cannot name.
import { t } from './i18n.js';

// Codes that say more than their status (membership, channel proof, refused uploads).
const CODED = new Set([
  'not_a_member',
  'member_disabled',
  'channel_not_verified',
  'channel_unavailable',
  'channel_already_connected',
  'unavailable',
  'upload_active_content',
  'upload_type_mismatch',
  'upload_type_not_allowed',
]);

export function describeError(error) {
  if (!error || error.name !== 'ApiError') return t('errors.unexpected');
  if (CODED.has(error.code)) return t(`errors.${error.code}`);
  switch (error.status) {
    case 0:
      return t('errors.network');
    case 401:
      return t('errors.unauthorized');
    case 403:
      return t('errors.forbidden');
    case 404:
      return t('errors.not_found');
    case 409:
      return t('errors.conflict', { message: error.message });
    case 412:
      return t('errors.stale');
    case 422:
    case 400:
      return t('errors.invalid');
    case 413:
      return t('errors.too_large');
    case 429:
      return t('errors.rate_limited');
    default:
      return error.status >= 500 ? t('errors.server') : error.message;
  }
}

/** 422 details as {field: message}, by the last name in each detail's loc. */
export function fieldErrors(error) {
  const result = {};
  if (!error || !Array.isArray(error.details)) return result;
  for (const detail of error.details) {
    const loc = (detail.loc || []).filter((part) => typeof part === 'string');
    const field = loc.includes('consent') ? 'consent' : loc[loc.length - 1];
    if (!field || result[field]) continue;
    if (field === 'consent') result.consent = t('contact.errors.consent');
    else if (detail.type === 'missing') result[field] = t('errors.required');
    else result[field] = t('errors.invalid_field', { message: detail.msg || detail.type });
  }
  return result;
}

/** The one permission table the UI needs (mirrors docs/PERMISSIONS.md): admins only. */
const ADMIN_ONLY = new Set(['contacts.unblock', 'contacts.unlink', 'contacts.delete', 'tags.manage', 'merges.read']);

export function can(role, action) {
  return !ADMIN_ONLY.has(action) || role === 'owner' || role === 'manager';
}
