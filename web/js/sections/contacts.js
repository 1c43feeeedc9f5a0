// Contactos (seed 002): /app/contacts (the list), /app/contacts/blocked ("Contactos bloqueados"),
// /app/contacts/merges (merge history, owners and managers) and /app/contacts/<id>[/<tab>] (one contact).
import { h } from '../dom.js';
import { registerSection, sectionUrl } from '../router.js';
import { forbiddenState, sectionHeader } from '../states.js';
import { t } from '../i18n.js';
import { ContactList } from '../contacts/list.js';
import { ContactPage } from '../contacts/page.js';
import { MergeHistory } from '../contacts/merges.js';

const VIEWS = ['all', 'blocked', 'merges'];

registerSection({
  id: 'contacts',
  label: 'nav.contacts',
  icon: 'nav-contacts',
  requires: ['contacts.read'],
  mount(container, ctx) {
    const listRoot = h('div', { class: 'contacts-view' });
    const pageRoot = h('div', { class: 'contact-page' });
    const mergesRoot = h('div', { class: 'contacts-view' });
    const list = new ContactList({ api: ctx.api, can: ctx.can, root: listRoot });
    const page = new ContactPage({ api: ctx.api, can: ctx.can, root: pageRoot, navigate: ctx.navigate, channels: ctx.channels });
    const merges = new MergeHistory({ api: ctx.api, root: mergesRoot });
    let view = null;

    const header = () => {
      const links = VIEWS.filter((name) => name !== 'merges' || ctx.can('merges.read')).map((name) =>
        h('a', {
          href: name === 'all' ? sectionUrl('contacts') : sectionUrl('contacts', name),
          class: ['contacts-view-link', name === view && 'active'],
          'aria-current': name === view ? 'page' : null,
          text: t(`contacts.view_${name}`),
        }));
      return [sectionHeader('nav.contacts'), h('nav', { class: 'contacts-views', 'aria-label': t('contacts.views') }, links)];
    };

    return {
      show(path) {
        const [first, tab] = path;
        if (!first || first === 'blocked' || first === 'merges') {
          view = first || 'all';
          if (view === 'merges' && !ctx.can('merges.read')) {
            container.replaceChildren(...header(), forbiddenState({ role: ctx.me().role }));
            return;
          }
          const root = view === 'merges' ? mergesRoot : listRoot;
          container.replaceChildren(...header(), root);
          if (view === 'merges') merges.show();
          else list.show({ blocked: view === 'blocked' });
          return;
        }
        view = null;
        container.replaceChildren(pageRoot);
        page.show(first, tab);
      },
      relabel() {
        if (view) container.replaceChildren(...header(), view === 'merges' ? mergesRoot : listRoot);
        list.relabel();
        page.relabel();
        if (view === 'merges') merges.render();
      },
      signOut() {
        list.loaded = false;
        page.id = null;
        page.contact = null;
      },
    };
  },
});
