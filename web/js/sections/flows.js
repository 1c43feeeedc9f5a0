// Automatización: /app/flows (the flows, with state and last run), /app/flows/new (from a template or
// from scratch), /app/flows/<id> (one flow: enable / disable, its run history) and /app/flows/<id>/edit.
// Only roles that may manage flows see the section (docs/PERMISSIONS.md: agents may not edit flows).
//
// The API's states are draft, active and disabled, and one call turns a flow on (POST .../enable,
// "Enable (activate)"): seed 000's "habilita y activa el flujo" is that one button on a draft.
import { announce, h, icon } from '../dom.js';
import { t } from '../i18n.js';
import { describeError } from '../errors.js';
import { fullWhen, shortWhen } from '../format.js';
import { registerSection, sectionUrl } from '../router.js';
import { emptyState, errorState, loadingState, notFoundState, sectionHeader } from '../states.js';
import { definitionBody, flowForm, newTrigger, showFieldErrors } from '../views/flow-editor.js';

const STATES = ['draft', 'active', 'disabled'];

function stateBadge(state) {
  return h('span', { class: ['flow-state', `flow-state-${STATES.includes(state) ? state : 'other'}`], dataset: { flowState: state }, text: t(`flows.state.${state}`) });
}

function runBadge(state) {
  return h('span', { class: ['run-state', `run-state-${state}`], text: t(`flows.run_state.${state}`) });
}

/** "2.then.0" -> "3 › Entonces › 1": a run step's place in the flow, as the editor numbers it. */
function stepNumber(path) {
  return path
    .split('.')
    .map((part) => (/^\d+$/.test(part) ? String(Number(part) + 1) : t(`flows.branch_${part}`)))
    .join(' › ');
}

function triggerSummary(trigger) {
  const base = t(`flows.trigger.${trigger.type}`);
  return trigger.channel && trigger.channel !== 'any' ? `${base} · ${t(`flows.channel.${trigger.channel}`)}` : base;
}

registerSection({
  id: 'flows',
  label: 'nav.flows',
  icon: 'nav-flows',
  requires: ['flows.manage'],
  mount(container, ctx) {
    let path = [];
    let shownToken = 0;
    let editing = null; // {flow, refs} while the editor is open
    let runsView = null; // {flowId, items, cursor} of the flow page

    const api = () => ctx.api;

    async function refs() {
      const [tags, members] = await Promise.all([api().get('/v1/tags'), api().get('/v1/members')]);
      const pages = [...ctx.channels().values()].filter((channel) => channel.platform === 'messenger' && channel.status === 'active');
      return { tags: tags.items, members: members.items, pages };
    }

    function page(...children) {
      container.replaceChildren(...children);
    }

    async function guarded(token, work, retry) {
      page(sectionHeader('nav.flows'), loadingState());
      try {
        await work();
      } catch (error) {
        if (token !== shownToken) return;
        if (error.status === 404) page(sectionHeader('nav.flows'), notFoundState());
        else page(sectionHeader('nav.flows'), errorState({ error, onRetry: retry }));
      }
    }

    // ---------------------------------------------------------------- list

    async function showList(token) {
      const flows = (await api().get('/v1/flows')).items;
      if (token !== shownToken) return;
      const create = h('a', { href: sectionUrl('flows', 'new'), class: 'button primary', text: t('flows.new') });
      if (!flows.length) {
        page(sectionHeader('nav.flows'), emptyState({ iconName: 'nav-flows', title: t('flows.empty_title'), text: t('flows.empty_text'), action: { label: t('flows.new'), href: sectionUrl('flows', 'new') } }));
        return;
      }
      flows.sort((a, b) => String(b.updated_at).localeCompare(String(a.updated_at)));
      const rows = flows.map((flow) =>
        h(
          'li',
          { class: 'flow-row', dataset: { flowId: flow.id } },
          h('div', { class: 'flow-row-main' }, h('a', { href: sectionUrl('flows', flow.id), class: 'flow-name', text: flow.name }), h('span', { class: 'muted flow-trigger', text: triggerSummary(flow.trigger) })),
          h('div', { class: 'flow-row-meta' }, stateBadge(flow.state), lastRun(flow.last_run)),
        ),
      );
      page(sectionHeader('nav.flows', create), h('ul', { class: 'flow-list', 'aria-label': t('flows.list') }, rows));
    }

    function lastRun(run) {
      if (!run) return h('span', { class: 'muted flow-last-run', text: t('flows.never_ran') });
      return h('span', { class: 'flow-last-run', title: fullWhen(run.started_at) }, t('flows.last_run', { when: shortWhen(run.started_at) }), ' ', runBadge(run.state));
    }

    // ---------------------------------------------------------------- new: templates or scratch

    async function showNew(token) {
      const [templates, references] = await Promise.all([api().get('/v1/flow-templates'), refs()]);
      if (token !== shownToken) return;
      const cards = templates.items.map((template) => {
        const needsAgents = !template.example && 'user_ids' in template.params;
        const agentSelect = needsAgents
          ? h('label', { class: 'field' }, h('span', { class: 'field-label', text: t('flows.template_agent') }), h('select', {}, references.members.map((member) => h('option', { value: member.id, text: member.name || member.email }))))
          : null;
        const use = h('button', { type: 'button', class: 'primary', text: t('flows.use_template'), 'aria-label': t('flows.use_template_named', { name: template.name }) });
        const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
        use.addEventListener('click', async () => {
          use.disabled = true;
          error.hidden = true;
          const params = needsAgents ? { user_ids: [agentSelect.querySelector('select').value] } : {};
          try {
            const flow = await api().post(`/v1/flow-templates/${encodeURIComponent(template.key)}`, { params });
            announce(t('flows.created'), 'success');
            ctx.navigate(sectionUrl('flows', flow.id));
          } catch (failure) {
            error.textContent = describeError(failure);
            error.hidden = false;
            use.disabled = false;
          }
        });
        return h('li', { class: 'flow-template', dataset: { template: template.key } }, h('h3', { text: template.name }), h('p', { class: 'muted', text: template.description }), agentSelect, error, use);
      });
      page(
        sectionHeader('flows.new_title', h('a', { href: sectionUrl('flows'), class: 'button secondary', text: t('flows.back_to_list') })),
        h(
          'section',
          { class: 'flow-card', 'aria-labelledby': 'flow-scratch-title' },
          h('h2', { id: 'flow-scratch-title', text: t('flows.from_scratch') }),
          h('p', { class: 'muted', text: t('flows.from_scratch_text') }),
          h('a', { href: sectionUrl('flows', 'new', 'scratch'), class: 'button primary', text: t('flows.start_scratch') }),
        ),
        h('section', { class: 'flow-card', 'aria-labelledby': 'flow-templates-title' }, h('h2', { id: 'flow-templates-title', text: t('flows.templates') }), h('ul', { class: 'flow-templates' }, cards)),
      );
    }

    // ---------------------------------------------------------------- editor

    async function showEditor(token, flowId) {
      const [references, existing] = await Promise.all([refs(), flowId ? api().get(`/v1/flows/${encodeURIComponent(flowId)}`) : null]);
      if (token !== shownToken) return;
      const flow = existing
        ? { id: existing.id, name: existing.name, version: existing.version, trigger: existing.trigger, conditions: existing.conditions, match: existing.match, steps: existing.steps }
        : { name: '', trigger: newTrigger('conversation_opened', references), conditions: [], match: 'all', steps: [{ type: 'create_contact', add_source_tag: true }] };
      editing = { flow, refs: references };
      const host = h('div', { class: 'flow-editor-host' });
      const summary = h('p', { class: 'panel-error', role: 'alert', hidden: true });
      const save = h('button', { type: 'submit', class: 'primary', text: t('flows.save') });
      const render = () => host.replaceChildren(flowForm(flow, references, render));
      const form = h(
        'form',
        { class: 'flow-editor', novalidate: true, 'aria-label': t('flows.editor') },
        summary,
        host,
        h('div', { class: 'form-actions flow-editor-actions' }, save, h('a', { href: flowId ? sectionUrl('flows', flowId) : sectionUrl('flows'), class: 'button secondary', text: t('common.cancel') })),
      );
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        save.disabled = true;
        summary.hidden = true;
        try {
          const body = definitionBody(flow);
          const saved = flowId ? await api().request('PUT', `/v1/flows/${encodeURIComponent(flowId)}`, { body }) : await api().post('/v1/flows', body);
          editing = null;
          announce(t('flows.saved'), 'success');
          ctx.navigate(sectionUrl('flows', saved.id));
        } catch (error) {
          save.disabled = false;
          const unplaced = error.status === 422 ? showFieldErrors(form, error.details) : [];
          summary.textContent = error.status === 422 ? t('flows.fix_errors') : describeError(error);
          if (unplaced.length) summary.textContent += ` ${unplaced.map((d) => `${(d.loc || []).join('.')}: ${d.msg}`).join('; ')}`;
          summary.hidden = false;
          if (error.status !== 422) summary.scrollIntoView({ block: 'center' });
        }
      });
      render();
      page(sectionHeader(flowId ? 'flows.edit_title' : 'flows.new_title'), form);
    }

    // ---------------------------------------------------------------- one flow and its runs

    async function showFlow(token, flowId) {
      const [flow, runs] = await Promise.all([api().get(`/v1/flows/${encodeURIComponent(flowId)}`), api().get(`/v1/flows/${encodeURIComponent(flowId)}/runs`, { limit: 20 })]);
      if (token !== shownToken) return;
      runsView = { flowId, items: runs.items, cursor: runs.next_cursor };
      const status = h('p', { class: 'field-error', role: 'alert', hidden: true });
      const act = (label, action, kind = 'primary') => {
        const button = h('button', { type: 'button', class: kind, text: label });
        button.addEventListener('click', async () => {
          button.disabled = true;
          status.hidden = true;
          try {
            await action();
          } catch (error) {
            const details = Array.isArray(error.details) ? ` ${error.details.map((d) => d.msg).join('; ')}` : '';
            status.textContent = describeError(error) + details;
            status.hidden = false;
            button.disabled = false;
          }
        });
        return button;
      };
      const turn = (verb, message) => async () => {
        await api().post(`/v1/flows/${encodeURIComponent(flowId)}/${verb}`);
        announce(t(message), 'success');
        show(path);
      };
      const actions = [];
      if (flow.state === 'draft') actions.push(act(t('flows.enable_activate'), turn('enable', 'flows.activated')));
      if (flow.state === 'disabled') actions.push(act(t('flows.activate'), turn('enable', 'flows.activated')));
      if (flow.state === 'active') actions.push(act(t('flows.deactivate'), turn('disable', 'flows.deactivated'), 'secondary'));
      actions.push(h('a', { href: sectionUrl('flows', flowId, 'edit'), class: 'button secondary', text: t('flows.edit') }));
      actions.push(
        act(
          t('flows.delete'),
          async () => {
            if (!window.confirm(t('flows.delete_confirm', { name: flow.name }))) return;
            await api().del(`/v1/flows/${encodeURIComponent(flowId)}`);
            announce(t('flows.deleted'), 'success');
            ctx.navigate(sectionUrl('flows'));
          },
          'danger-outline',
        ),
      );
      const heading = h('div', { class: 'flow-heading' }, h('a', { href: sectionUrl('flows'), class: 'back-link', text: t('flows.back_to_list') }), h('h2', { class: 'flow-title', text: flow.name }), stateBadge(flow.state));
      const facts = h(
        'dl',
        { class: 'flow-facts' },
        h('dt', { text: t('flows.trigger') }),
        h('dd', { text: triggerSummary(flow.trigger) }),
        h('dt', { text: t('flows.steps_title') }),
        h('dd', { text: flow.steps.map((step) => t(`flows.step.${step.type}`)).join(' → ') }),
        h('dt', { text: t('flows.version') }),
        h('dd', { text: String(flow.version) }),
        flow.error_count ? h('dt', { text: t('flows.errors') }) : null,
        flow.error_count ? h('dd', { text: `${flow.error_count} · ${flow.last_error || ''}` }) : null,
      );
      const hint = flow.state === 'draft' ? h('p', { class: 'hint', text: t('flows.draft_hint') }) : null;
      const runsSection = h('section', { class: 'flow-card flow-runs', 'aria-labelledby': 'flow-runs-title' });
      renderRuns(runsSection);
      page(sectionHeader('nav.flows'), h('section', { class: 'flow-card' }, heading, hint, h('div', { class: 'form-actions' }, actions), status, facts), runsSection);
    }

    function renderRuns(section) {
      const { items, cursor, flowId } = runsView;
      const refresh = h('button', { type: 'button', class: 'secondary small', text: t('flows.refresh_runs'), on: { click: () => reloadRuns(section) } });
      const list = items.length
        ? h('ol', { class: 'run-list' }, items.map(runItem))
        : h('p', { class: 'muted', dataset: { state: 'empty' }, text: t('flows.no_runs') });
      const more = cursor
        ? h('button', {
            type: 'button',
            class: 'secondary',
            text: t('flows.more_runs'),
            on: {
              click: async (event) => {
                event.target.disabled = true;
                try {
                  const next = await api().get(`/v1/flows/${encodeURIComponent(flowId)}/runs`, { limit: 20, cursor });
                  runsView.items = [...runsView.items, ...next.items];
                  runsView.cursor = next.next_cursor;
                  renderRuns(section);
                } catch (error) {
                  event.target.disabled = false;
                  announce(describeError(error), 'error');
                }
              },
            },
          })
        : null;
      section.replaceChildren(...[h('div', { class: 'flow-runs-head' }, h('h2', { id: 'flow-runs-title', text: t('flows.runs_title') }), refresh), list, more].filter(Boolean));
    }

    async function reloadRuns(section) {
      const flowId = runsView.flowId;
      try {
        const runs = await api().get(`/v1/flows/${encodeURIComponent(flowId)}/runs`, { limit: 20 });
        if (!runsView || runsView.flowId !== flowId) return;
        runsView = { flowId, items: runs.items, cursor: runs.next_cursor };
        renderRuns(section);
      } catch (error) {
        announce(describeError(error), 'error');
      }
    }

    function runItem(run) {
      const steps = h(
        'ol',
        { class: 'run-steps' },
        run.steps.map((step) =>
          h(
            'li',
            { class: 'run-step', dataset: { path: step.path } },
            h('span', { class: 'run-step-name', text: `${stepNumber(step.path)} · ${t(`flows.step.${step.type}`)}` }),
            runBadge(step.state),
            step.duration_ms !== null && step.duration_ms !== undefined ? h('span', { class: 'muted', text: t('flows.duration', { ms: step.duration_ms }) }) : null,
            step.error ? h('span', { class: 'field-error', text: step.error }) : null,
          ),
        ),
      );
      return h(
        'li',
        { class: 'run', dataset: { runId: run.id, state: run.state } },
        h(
          'details',
          {},
          h('summary', {}, runBadge(run.state), h('span', { text: fullWhen(run.started_at) }), h('span', { class: 'muted', text: t(`flows.event.${run.trigger_event_name}`) }), h('span', { class: 'muted', text: t('flows.run_version', { version: run.flow_version }) })),
          run.conversation_id ? h('a', { href: sectionUrl('inbox', run.conversation_id), class: 'run-conversation' }, icon('chat'), t('flows.open_conversation')) : null,
          run.error ? h('p', { class: 'field-error', text: run.error }) : null,
          steps,
        ),
      );
    }

    // ---------------------------------------------------------------- routing

    async function show(newPath) {
      path = newPath;
      const token = ++shownToken;
      runsView = null;
      const [first, second] = path;
      const retry = () => show(path);
      if (!first) return guarded(token, () => showList(token), retry);
      if (first === 'new' && second === 'scratch') return guarded(token, () => showEditor(token, null), retry);
      if (first === 'new') return guarded(token, () => showNew(token), retry);
      if (second === 'edit') return guarded(token, () => showEditor(token, first), retry);
      return guarded(token, () => showFlow(token, first), retry);
    }

    return {
      show,
      relabel() {
        if (!editing) show(path);
      },
      poll({ visible } = {}) {
        // a refresh reads the first page again: not while the user has loaded more, or opened a run
        if (!visible || !runsView || runsView.items.length > 20) return;
        const section = container.querySelector('.flow-runs');
        if (section && !section.querySelector('details[open]')) reloadRuns(section);
      },
    };
  },
});
