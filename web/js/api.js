// The one fetch wrapper: adds the bearer token, parses {"error": {code, message, details}} (and API
// Gateway's own {"message"}), and on 401 hands control back to the login screen.

export class ApiError extends Error {
  constructor(status, code, message, details = null) {
    super(message || code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export function createApi({ baseUrl = '', getToken, onUnauthorized }) {
  const root = baseUrl.replace(/\/+$/, '');

  async function request(method, path, { query, body, auth = true, signal, headers: extra } = {}) {
    let url = `${root || location.origin}${path}`;
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query || {})) {
      if (value !== null && value !== undefined && value !== '') params.set(name, String(value));
    }
    if ([...params].length) url += `?${params}`;
    const headers = { Accept: 'application/json', ...extra };
    const token = auth ? getToken() : null;
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        signal,
      });
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      throw new ApiError(0, 'network', error.message);
    }
    const text = response.status === 204 ? '' : await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (response.ok) return data;
    const info = data && typeof data.error === 'object' && data.error ? data.error : null;
    const error = new ApiError(
      response.status,
      info?.code || (response.status === 404 ? 'not_found_route' : `http_${response.status}`),
      info?.message || data?.message || response.statusText,
      info?.details ?? null,
    );
    if (response.status === 401 && auth) onUnauthorized?.(error);
    throw error;
  }

  return {
    request,
    get: (path, query, options) => request('GET', path, { ...options, query }),
    post: (path, body, options) => request('POST', path, { ...options, body: body ?? {} }),
    patch: (path, body, options) => request('PATCH', path, { ...options, body }),
    del: (path, options) => request('DELETE', path, options),
  };
}

const TOKEN_KEY = 'inbox-crm:token';

export const session = {
  token() {
    try {
      return sessionStorage.getItem(TOKEN_KEY);
    } catch {
      return null;
    }
  },
  save(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // nothing stored
    }
  },
};
