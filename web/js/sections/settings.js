// Configuración: /app/settings/<part> — channels, tags, custom fields, members and roles, language.
// Until the section is built it shows its heading and its empty state.
import { registerSection } from '../router.js';
import { emptyState, sectionHeader } from '../states.js';
import { t } from '../i18n.js';

registerSection({
  id: 'settings',
  label: 'nav.settings',
  icon: 'nav-settings',
  requires: ['channels.manage', 'tags.manage', 'custom_fields.manage'],
  mount(container) {
    const render = () => container.replaceChildren(sectionHeader('nav.settings'), emptyState({ iconName: 'nav-settings', title: t('sections.settings_empty_title'), text: t('sections.settings_empty_text') }));
    render();
    return { show() {}, relabel: render };
  },
});
