// Bandeja de entrada: /app/inbox (the list) and /app/inbox/<conversation id> (one conversation, with
// its contact panel). The markup lives in index.html (#section-inbox); the views own their parts.
import { registerSection, sectionUrl } from '../router.js';
import { InboxView } from '../views/inbox.js';
import { ConversationView } from '../views/conversation.js';
import { ContactPanel } from '../views/contact-panel.js';

registerSection({
  id: 'inbox',
  label: 'nav.inbox',
  icon: 'chat',
  requires: ['conversations.read'],
  mount(container, ctx) {
    const panes = container.querySelector('#panes');
    const inbox = new InboxView({
      api: ctx.api,
      onSelect: (id) => ctx.navigate(id ? sectionUrl('inbox', id) : sectionUrl('inbox')),
      onUnreadChanged: (count) => ctx.setBadge(count),
    });
    const panel = new ContactPanel({
      api: ctx.api,
      role: ctx.me().role,
      onConversationChanged: (conversation) => {
        inbox.upsert(conversation);
        conversationView.update(conversation);
      },
      onContactBlocked: () => ctx.poll(),
    });
    const conversationView = new ConversationView({
      api: ctx.api,
      channels: ctx.channels,
      me: ctx.me,
      onLoaded: (loaded) => {
        if (inbox.get(loaded.id)) inbox.upsert(loaded);
        if (panel.conversation?.id === loaded.id) panel.conversationChanged(loaded);
        else panel.show(loaded);
      },
    });

    const toggle = container.querySelector('#toggle-contact');
    const setContactOpen = (open) => {
      panes.classList.toggle('contact-open', open);
      toggle.setAttribute('aria-expanded', String(open));
    };
    toggle.addEventListener('click', () => setContactOpen(!panes.classList.contains('contact-open')));
    container.querySelector('#close-contact').addEventListener('click', () => {
      setContactOpen(false);
      toggle.focus();
    });
    container.querySelector('#back-to-list').addEventListener('click', () => ctx.navigate(sectionUrl('inbox')));
    // Esc: the contact drawer closes first, then the conversation (back to its row in the list).
    // Not while typing: Esc in the composer must not throw the conversation away.
    document.addEventListener('keydown', (event) => {
      if (event.key !== 'Escape' || event.defaultPrevented || container.hidden || panes.dataset.view !== 'conversation') return;
      if (event.target.closest('input, textarea, select, [contenteditable="true"], dialog')) return;
      event.preventDefault();
      if (panes.classList.contains('contact-open')) {
        setContactOpen(false);
        toggle.focus();
      } else {
        ctx.navigate(sectionUrl('inbox'));
      }
    });

    let first = null;
    let shownId;

    return {
      persistent: true, // its markup is index.html's: kept (and its listeners) across sign-outs
      views: { inbox, conversation: conversationView, panel },
      signIn() {
        panel.role = ctx.me().role;
        first = inbox.refresh({ reset: true });
      },
      async show(path) {
        // The first rows before the conversation: opening it can use the row's summary at once.
        if (first) {
          await first;
          first = null;
        }
        const id = path[0] || null;
        panes.dataset.view = id ? 'conversation' : 'list';
        inbox.setSelected(id);
        if (!id) {
          conversationView.close();
          panel.clear();
          if (shownId) inbox.focusRow(shownId);
          shownId = null;
          return;
        }
        const opening = id !== shownId;
        shownId = id;
        if (!opening || id === conversationView.id) return;
        const summary = inbox.get(id);
        panel.clear();
        if (summary) panel.show(summary);
        conversationView.open(id, summary);
        if (document.activeElement === document.body || container.querySelector('#conversation-list')?.contains(document.activeElement)) {
          container.querySelector('#conversation-pane').focus({ preventScroll: true });
        }
      },
      hide() {
        setContactOpen(false);
      },
      relabel() {
        inbox.relabel();
        conversationView.relabel();
        panel.relabel();
      },
      poll({ visible }) {
        // The list keeps refreshing in the background: the tab title shows the unread count.
        return Promise.all([inbox.refresh(), visible ? conversationView.refresh() : null]);
      },
      signOut() {
        conversationView.close();
        panel.clear();
        inbox.clear();
        shownId = null;
      },
    };
  },
});
