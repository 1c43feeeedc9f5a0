// Transmisiones: /app/broadcasts, the broadcasts, and /app/broadcasts/<id>, one broadcast's progress.
// Until the section is built it shows its heading and its empty state.
import { registerSection } from '../router.js';
import { emptyState, sectionHeader } from '../states.js';
import { t } from '../i18n.js';

registerSection({
  id: 'broadcasts',
  label: 'nav.broadcasts',
  icon: 'nav-broadcasts',
  requires: ['broadcasts.read'],
  mount(container) {
    const render = () => container.replaceChildren(sectionHeader('nav.broadcasts'), emptyState({ iconName: 'nav-broadcasts', title: t('sections.broadcasts_empty_title'), text: t('sections.broadcasts_empty_text') }));
    render();
    return { show() {}, relabel: render };
  },
});
