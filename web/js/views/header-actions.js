// The conversation header's actions: close / reopen, and assign to me / unassign with the current
// assignee shown. Each answers the changed conversation, handed to onChanged.
import { announce, h } from '../dom.js';
import { t } from '../i18n.js';
import { describeError } from '../errors.js';

export function createHeaderActions({ api, me, onChanged }) {
  let conversation = null;
  let busy = false;
  const assignee = h('span', { class: 'assignee', role: 'status' });
  const assign = h('button', { type: 'button', class: 'secondary', on: { click: toggleAssign } });
  const status = h('button', { type: 'button', class: 'secondary', on: { click: toggleStatus } });
  const element = h('div', { class: 'header-actions', hidden: true }, assignee, assign, status);

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
    const id = conversation.assignee_id;
    assignee.textContent = !id ? t('conversation.unassigned') : id === myId() ? t('conversation.assigned_to_me') : t('conversation.assigned_to_other');
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
