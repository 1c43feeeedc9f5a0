// Automatización: /app/flows, the automation flows, and /app/flows/<id>, one flow and its runs.
// Until the section is built it shows its heading and its empty state.
import { registerSection } from '../router.js';
import { emptyState, sectionHeader } from '../states.js';
import { t } from '../i18n.js';

registerSection({
  id: 'flows',
  label: 'nav.flows',
  icon: 'nav-flows',
  requires: ['flows.read'],
  mount(container) {
    const render = () => container.replaceChildren(sectionHeader('nav.flows'), emptyState({ iconName: 'nav-flows', title: t('sections.flows_empty_title'), text: t('sections.flows_empty_text') }));
    render();
    return { show() {}, relabel: render };
  },
});
