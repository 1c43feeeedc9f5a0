// Tiny DOM helpers. Everything user- or network-provided goes through textContent or attributes:
// nothing in this app ever assigns HTML strings (messages come from strangers).

const PROPERTIES = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'open', 'readOnly', 'required']);

/**
 * h('button', {class: 'primary', text: 'Enviar', on: {click: fn}}, child, ...)
 * attrs: class, text, dataset {}, on {event: handler}, boolean/value properties, other attributes.
 * null/undefined/false attributes and children are skipped; arrays of children are flattened.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (name === 'text') el.textContent = String(value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name === 'on') for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    else if (PROPERTIES.has(name)) el[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** An <img> of one of our own icons (decorative unless alt is given). */
export function icon(name, alt = '', className = 'icon') {
  return h('img', { src: new URL(`../icons/${name}.svg`, import.meta.url).href, alt, class: className, width: 16, height: 16 });
}

/**
 * Makes parent's children exactly `nodes`, in order, touching only what moved: unchanged nodes
 * keep their focus, scroll, <details> state and playing media.
 */
export function reconcile(parent, nodes) {
  let cursor = parent.firstChild;
  for (const node of nodes) {
    if (node === cursor) {
      cursor = cursor.nextSibling;
      continue;
    }
    parent.insertBefore(node, cursor);
  }
  while (cursor) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
}

/** Text with http(s) links made clickable, built from text nodes and <a> elements only. */
export function linkifiedText(text) {
  const parts = [];
  const pattern = /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'»]/gi;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) parts.push(document.createTextNode(text.slice(last, match.index)));
    parts.push(h('a', { href: match[0], target: '_blank', rel: 'noopener noreferrer nofollow', text: match[0] }));
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(document.createTextNode(text.slice(last)));
  return parts;
}

/** An http(s) URL or null: never let a javascript: or data: URL from a payload into an href/src. */
export function safeUrl(value) {
  if (typeof value !== 'string' || !value) return null;
  try {
    const url = new URL(value, location.href);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

let liveTimer = null;
/** Announces a short status to screen readers (and shows it as a toast). */
export function announce(message, kind = 'info') {
  const region = document.getElementById('toast');
  if (!region) return;
  region.textContent = message;
  region.dataset.kind = kind;
  region.hidden = false;
  clearTimeout(liveTimer);
  liveTimer = setTimeout(() => {
    region.hidden = true;
  }, 4000);
}
