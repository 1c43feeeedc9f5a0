// The app's sections and their URLs: /app/<section>/<sub/path>. A section module registers itself
// (web/js/sections/*.js) and the shell mounts it the first time its URL is visited.
//
// registerSection({
//   id: 'contacts',                 // the URL segment: /app/contacts/...
//   label: 'nav.contacts',          // i18n key of its navigation label and tab title
//   icon: 'person',                 // web/icons/<icon>.svg
//   requires: ['contacts.read'],    // shown when the caller's role allows ANY of these actions (/v1/me)
//   mount(container, ctx) {         // once, into its own container; returns the section's controller:
//     return {
//       show(path) {},              // path: the segments after /app/<id>/, decoded ([] at the root)
//       hide() {},                  // optional: another section is shown
//       relabel() {},               // optional: the language changed
//       poll() {},                  // optional: every few seconds while shown (and on focus)
//     };
//   },
// });
//
// ctx: { api, me, can(action), navigate(path, {replace}), channels() }. Links to /app/... anywhere in
// the page are followed by the router (no reload), so sections may use plain <a href>.

const sections = [];

export function registerSection(section) {
  if (sections.some((known) => known.id === section.id)) throw new Error(`section ${section.id} registered twice`);
  sections.push(section);
}

export function registeredSections() {
  return [...sections];
}

export const HOME = '/app/inbox';

/** Where a URL points: {section, path} (section null for an unknown /app/<x>); old and bare URLs map
 * to their current form ({redirect}). */
export function resolve(pathname) {
  if (pathname === '/' || pathname === '/app' || pathname === '/app/') return { redirect: HOME };
  // Conversations used to live at /app/c/<id>: keep old links (bookmarks, notifications) working.
  const legacy = /^\/app\/c\/([^/]+)\/?$/.exec(pathname);
  if (legacy) return { redirect: `${HOME}/${legacy[1]}` };
  const match = /^\/app\/([^/]+)((?:\/[^/]*)*)$/.exec(pathname);
  if (!match) return { redirect: HOME };
  const section = sections.find((known) => known.id === match[1]) || null;
  const path = match[2]
    .split('/')
    .filter(Boolean)
    .map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    });
  return { section, path, id: match[1] };
}

export function sectionUrl(id, ...path) {
  return ['/app', id, ...path.map((part) => encodeURIComponent(part))].join('/');
}

/** Whether a click on a link should be handled in-page (plain left click on an /app/ link). */
export function isAppLinkClick(event) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return null;
  const link = event.target.closest?.('a[href]');
  if (!link || (link.target && link.target !== '_self') || link.hasAttribute('download')) return null;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith('/app/')) return null;
  return url.pathname + url.search;
}
