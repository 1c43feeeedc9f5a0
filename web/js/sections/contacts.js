// Contactos (seed 002): /app/contacts, the list, and /app/contacts/<id>, one contact.
// Until the section is built it shows its heading and its empty state.
import { registerSection } from '../router.js';
import { emptyState, sectionHeader } from '../states.js';
import { t } from '../i18n.js';

registerSection({
  id: 'contacts',
  label: 'nav.contacts',
  icon: 'nav-contacts',
  requires: ['contacts.read'],
  mount(container) {
    const render = () => container.replaceChildren(sectionHeader('nav.contacts'), emptyState({ iconName: 'nav-contacts', title: t('sections.contacts_empty_title'), text: t('sections.contacts_empty_text') }));
    render();
    return { show() {}, relabel: render };
  },
});
