// The conversation header's actions: close / reopen, assign to me / unassign, and assign to any
// teammate (GET /v1/members), with the current assignee named. Each answers the changed
// conversation, handed to onChanged.
import { announce, h } from '../dom.js';
import { t } from '../i18n.js';
import { describeError } from '../errors.js';

export function createHeaderActions({ api, me, onChanged }) {
  let conversation = null;
  let busy = false;
  const assignee = h('span', { class: 'assignee', role: 'status' });
  const assign = h('button', { type: 'button', class: 'secondary', on: { click: toggleAssign } });
  const status = h('button', { type: 'button', class: 'secondary', on: { click: toggleStatus } });
  const assignTo = h('select', { class: 'small assign-to', 'aria-label': t('conversation.assign_to'), on: { change: assignToChosen } });
  const element = h('div', { class: 'header-actions', hidden: true }, assignee, assign, assignTo, status);
  let members = null; // {workspace, items} once loaded
  let loadingMembers = null;

  /** The workspace's members, loaded once per workspace (re-rendering when they arrive). */
  function loadMembers() {
    const workspace = me()?.workspace?.id;
    if ((members && members.workspace === workspace) || loadingMembers) return;
    loadingMembers = api
      .get('/v1/members')
      .then((page) => {
        members = { workspace, items: page.items };
        render();
      })
      .catch(() => {
        members = { workspace, items: [] }; // "Asignarme" still works
      })
      .finally(() => {
        loadingMembers = null;
      });
  }

  function memberName(id) {
    const member = members?.items.find((item) => item.id === id);
    return member ? member.name || member.email : null;
  }

  function assignToChosen() {
    const chosen = assignTo.value;
    assignTo.value = '';
    if (chosen) run('assign', { assignee_id: chosen });
  }

  async function run(action, body) {
    if (!conversation || busy) return;
    busy = true;
    render();
    try {
      const changed = await api.post(`/v1/conversations/${encodeURIComponent(conversation.id)}/${action}`, body);
      if (changed.id === conversation.id) onChanged?.(changed);
    } catch (error) {
      if (error.status !== 401) announce(describeError(error), 'error');
    } finally {
      busy = false;
      render();
    }
  }

  function myId() {
    return me()?.user?.id || null;
  }

  function toggleAssign() {
    const mine = conversation?.assignee_id && conversation.assignee_id === myId();
    run('assign', { assignee_id: mine || conversation?.assignee_id ? null : myId() });
  }

  function toggleStatus() {
    run(conversation?.status === 'closed' ? 'reopen' : 'close');
  }

  function render() {
    element.hidden = !conversation;
    if (!conversation) return;
    loadMembers();
    const id = conversation.assignee_id;
    const other = id && id !== myId() ? memberName(id) : null;
    assignee.textContent = !id ? t('conversation.unassigned') : id === myId() ? t('conversation.assigned_to_me') : other ? t('conversation.assigned_to_name', { name: other }) : t('conversation.assigned_to_other');
    const teammates = (members?.items || []).filter((member) => member.id !== id && member.id !== myId());
    assignTo.replaceChildren(
      h('option', { value: '', text: t('conversation.assign_to') }),
      ...teammates.map((member) => h('option', { value: member.id, text: `${member.name || member.email} · ${t(`role.${member.role}`)}` })),
    );
    assignTo.hidden = !teammates.length;
    assignTo.disabled = busy;
    assign.textContent = id ? t('conversation.unassign') : t('conversation.assign_me');
    status.textContent = conversation.status === 'closed' ? t('conversation.reopen') : t('conversation.close');
    assign.disabled = busy;
    status.disabled = busy;
  }

  return {
    element,
    setConversation(next) {
      conversation = next;
      render();
    },
  };
}
