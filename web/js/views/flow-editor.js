// The flow editor: trigger, conditions and steps (decisions hold their own "then" / "else" steps), as
// the API's definition (flows/model.py). The API validates; its 422 details are shown at the field
// they name (every input carries its definition path in data-loc, e.g. "steps.2.then.0.text").
import { h } from '../dom.js';
import { t } from '../i18n.js';

export const TRIGGERS = ['conversation_opened', 'message_received', 'comment_received', 'postback_received', 'contact_created', 'tag_added'];
export const STEP_TYPES = ['create_contact', 'send_message', 'add_tag', 'remove_tag', 'assign', 'close', 'wait', 'reply_comment', 'decision'];
const CHANNELS = ['any', 'messenger', 'instagram', 'whatsapp'];
// Definition names (flows/model.py), not i18n keys: their labels are flows.field.<name>, flows.variable.<name>.
const FIELDS = 'contact.first_name contact.last_name contact.email contact.phone contact.company contact.tags conversation.channel conversation.status conversation.assignee_id conversation.kind message.text now'.split(' ');
const OPS = ['is_set', 'is_not_set', 'equals', 'not_equals', 'contains', 'has_tag', 'not_has_tag', 'in_hours', 'out_of_hours'];
const VARIABLES = 'contact.first_name contact.last_name contact.name contact.email contact.phone contact.company conversation.channel conversation.display_name message.text'.split(' ');
const MAX_ATTACHMENTS = 3;
const MAX_BUTTONS = 2;
const WAIT_UNITS = { minutes: 60, hours: 3600, days: 86400 };
// Parts of a pydantic loc that name a union member (the discriminator), not a field.
const UNION_TAGS = new Set([...TRIGGERS, ...STEP_TYPES, 'body']);

/** A fresh step of this type, with what the API requires filled as far as possible. */
export function newStep(type, refs) {
  switch (type) {
    case 'send_message':
      return { type, text: '' };
    case 'add_tag':
    case 'remove_tag':
      return { type, tag_id: refs.tags[0]?.id || '' };
    case 'assign':
      return { type, user_id: refs.members[0]?.id || '' };
    case 'wait':
      return { type, seconds: 3600 };
    case 'reply_comment':
      return { type, mode: 'private', text: '' };
    case 'decision':
      return { type, conditions: [{ field: FIELDS[2], op: 'is_set' }], match: 'all', then: [], else: [] };
    case 'create_contact':
      return { type, add_source_tag: true };
    default:
      return { type };
  }
}

export function newTrigger(type, refs) {
  switch (type) {
    case 'conversation_opened':
      return { type, channel: 'any' };
    case 'message_received':
      return { type, channel: 'any', keywords: [], keyword_match: 'contains_any' };
    case 'comment_received':
      return { type, account_id: refs.pages[0]?.account_id || '', include_replies: false };
    case 'postback_received':
      return { type, payload: '', channel: 'any' };
    case 'tag_added':
      return { type, tag_id: refs.tags[0]?.id || '' };
    default:
      return { type };
  }
}

/** "steps.0.send_message.text" -> "steps.0.text": where an API error belongs in the form. */
export function locPath(loc) {
  return (loc || []).filter((part) => !(typeof part === 'string' && UNION_TAGS.has(part))).join('.');
}

/** A 422 detail in the user's words: its code translated, the server's text for what we cannot name. */
export function describeDetail(detail) {
  const key = `flows.error.${detail.type}`;
  const text = t(key);
  return text === key ? t('errors.invalid_field', { message: detail.msg || detail.type }) : text;
}

let fieldCount = 0;

/** A labelled control; its hint describes it (not part of its name). */
function field(label, control, loc, hint) {
  const id = `flow-field-${++fieldCount}`;
  const hintNode = hint ? h('span', { class: 'hint', id: `${id}-hint`, text: hint }) : null;
  if (control.matches('input, select, textarea')) {
    control.id = id;
    if (hintNode) control.setAttribute('aria-describedby', hintNode.id);
    return h('div', { class: 'field flow-field', dataset: { loc } }, h('label', { class: 'field-label', for: id, text: label }), control, hintNode);
  }
  return h('div', { class: 'field flow-field', dataset: { loc } }, h('span', { class: 'field-label', text: label }), control, hintNode);
}

function select(options, value, onChange, attrs = {}) {
  return h(
    'select',
    { ...attrs, on: { change: (event) => onChange(event.target.value) } },
    options.map(([optionValue, label]) => h('option', { value: optionValue, text: label, selected: optionValue === value })),
  );
}

function textInput(value, onInput, attrs = {}) {
  return h('input', { type: 'text', value: value ?? '', ...attrs, on: { input: (event) => onInput(event.target.value) } });
}

/**
 * The editor for one definition. refs: {tags, members, pages}. Changes mutate `flow` in place and
 * re-render (structural changes) through `rerender`.
 */
export function flowForm(flow, refs, rerender) {
  const channelOptions = CHANNELS.map((channel) => [channel, t(`flows.channel.${channel}`)]);
  const tagOptions = refs.tags.map((tag) => [tag.id, tag.name]);
  const memberOptions = refs.members.map((member) => [member.id, member.name || member.email]);

  function triggerFields(trigger) {
    const parts = [];
    if ('channel' in trigger) parts.push(field(t('flows.trigger_channel'), select(channelOptions, trigger.channel, (v) => (trigger.channel = v)), 'trigger.channel'));
    if (trigger.type === 'message_received') {
      parts.push(field(t('flows.keywords'), textInput((trigger.keywords || []).join(', '), (v) => (trigger.keywords = v.split(',').map((k) => k.trim()).filter(Boolean))), 'trigger.keywords', t('flows.keywords_hint')));
      parts.push(field(t('flows.keyword_match'), select([['contains_any', t('flows.keyword_contains_any')], ['equals', t('flows.keyword_equals')]], trigger.keyword_match, (v) => (trigger.keyword_match = v)), 'trigger.keyword_match'));
    }
    if (trigger.type === 'postback_received') parts.push(field(t('flows.payload'), textInput(trigger.payload, (v) => (trigger.payload = v)), 'trigger.payload'));
    if (trigger.type === 'comment_received') {
      const pages = refs.pages.map((page) => [page.account_id, page.name]);
      parts.push(field(t('flows.page'), pages.length ? select(pages, trigger.account_id, (v) => (trigger.account_id = v)) : h('p', { class: 'muted', text: t('flows.no_pages') }), 'trigger.account_id'));
      parts.push(
        field(
          t('flows.post_ids'),
          textInput((trigger.post_ids || []).join(', '), (v) => {
            const ids = v.split(',').map((id) => id.trim()).filter(Boolean);
            if (ids.length) trigger.post_ids = ids;
            else delete trigger.post_ids;
          }),
          'trigger.post_ids',
          t('flows.post_ids_hint'),
        ),
      );
      parts.push(h('label', { class: 'checkbox' }, h('input', { type: 'checkbox', checked: Boolean(trigger.include_replies), on: { change: (e) => (trigger.include_replies = e.target.checked) } }), t('flows.include_replies')));
    }
    if (trigger.type === 'tag_added') parts.push(field(t('flows.tag'), select(tagOptions, trigger.tag_id, (v) => (trigger.tag_id = v)), 'trigger.tag_id'));
    return parts;
  }

  function conditionList(owner, loc) {
    owner.conditions ||= [];
    const rows = owner.conditions.map((condition, index) => conditionRow(owner, condition, index, `${loc}.${index}`));
    return h(
      'div',
      { class: 'flow-conditions', dataset: { loc } },
      owner.conditions.length > 1 ? field(t('flows.match'), select([['all', t('flows.match_all')], ['any', t('flows.match_any')]], owner.match || 'all', (v) => (owner.match = v)), loc.replace(/conditions$/, 'match')) : null,
      rows,
      h('button', { type: 'button', class: 'secondary small', text: t('flows.add_condition'), on: { click: () => { owner.conditions.push({ field: FIELDS[2], op: 'is_set' }); rerender(); } } }),
    );
  }

  function conditionRow(owner, condition, index, loc) {
    const needsValue = ['equals', 'not_equals', 'contains', 'has_tag', 'not_has_tag'].includes(condition.op);
    const hours = ['in_hours', 'out_of_hours'].includes(condition.op);
    const setOp = (op) => {
      condition.op = op;
      if (['in_hours', 'out_of_hours'].includes(op)) {
        condition.field = 'now';
        condition.schedule ||= { days: [0, 1, 2, 3, 4], start: '09:00', end: '18:00' };
        delete condition.value;
      } else {
        delete condition.schedule;
        if (condition.field === 'now') condition.field = FIELDS[2];
        if (['has_tag', 'not_has_tag'].includes(op)) condition.field = FIELDS[5];
      }
      rerender();
    };
    let valueControl = null;
    if (needsValue && condition.field === FIELDS[5]) valueControl = select([['', t('flows.choose')], ...tagOptions], condition.value || '', (v) => (condition.value = v));
    else if (needsValue) valueControl = textInput(condition.value, (v) => (condition.value = v));
    return h(
      'div',
      { class: 'flow-condition', dataset: { loc } },
      hours ? null : field(t('flows.condition_field'), select(FIELDS.filter((f) => f !== 'now').map((f) => [f, t(`flows.field.${f}`)]), condition.field, (v) => { condition.field = v; rerender(); }), `${loc}.field`),
      field(t('flows.condition_op'), select(OPS.map((op) => [op, t(`flows.op.${op}`)]), condition.op, setOp), `${loc}.op`),
      valueControl ? field(t('flows.condition_value'), valueControl, `${loc}.value`) : null,
      hours ? scheduleFields(condition.schedule, `${loc}.schedule`) : null,
      h('button', { type: 'button', class: 'ghost small', text: t('flows.remove'), 'aria-label': t('flows.remove_condition', { n: index + 1 }), on: { click: () => { owner.conditions.splice(index, 1); rerender(); } } }),
    );
  }

  function scheduleFields(schedule, loc) {
    const days = h(
      'fieldset',
      { class: 'flow-days', dataset: { loc: `${loc}.days` } },
      h('legend', { class: 'field-label', text: t('flows.days') }),
      [0, 1, 2, 3, 4, 5, 6].map((day) =>
        h('label', { class: 'checkbox' }, h('input', { type: 'checkbox', checked: schedule.days.includes(day), on: { change: (e) => { schedule.days = e.target.checked ? [...schedule.days, day].sort() : schedule.days.filter((d) => d !== day); } } }), t(`flows.day.${day}`)),
      ),
    );
    return h(
      'div',
      { class: 'flow-schedule' },
      days,
      field(t('flows.start'), h('input', { type: 'time', value: schedule.start, on: { input: (e) => (schedule.start = e.target.value) } }), `${loc}.start`),
      field(t('flows.end'), h('input', { type: 'time', value: schedule.end, on: { input: (e) => (schedule.end = e.target.value) } }), `${loc}.end`),
    );
  }

  function variablePicker(target, step) {
    return select([['', t('flows.insert_variable')], ...VARIABLES.map((name) => [name, t(`flows.variable.${name}`)])], '', (name) => {
      if (!name) return;
      step.text = `${step.text || ''}{{${name}}}`;
      rerender();
    }, { class: 'small', 'aria-label': t('flows.insert_variable') });
  }

  function stepFields(step, loc) {
    switch (step.type) {
      case 'create_contact':
        return [h('p', { class: 'hint', text: t('flows.create_contact_hint') }), h('label', { class: 'checkbox' }, h('input', { type: 'checkbox', checked: Boolean(step.add_source_tag), on: { change: (e) => (step.add_source_tag = e.target.checked) } }), t('flows.add_source_tag'))];
      case 'send_message':
        return [
          field(t('flows.message_text'), h('textarea', { rows: 3, value: step.text || '', on: { input: (e) => (step.text = e.target.value) } }), `${loc}.text`, t('flows.variables_hint')),
          variablePicker(null, step),
          listEditor(step, 'attachments', MAX_ATTACHMENTS, loc, () => ({ type: 'image', url: '' }), (item, itemLoc) => [
            field(t('flows.attachment_type'), select(['image', 'video', 'audio', 'file'].map((v) => [v, t(`flows.attachment.${v}`)]), item.type, (v) => (item.type = v)), `${itemLoc}.type`),
            field(t('flows.attachment_url'), textInput(item.url, (v) => (item.url = v), { type: 'url', placeholder: 'https://' }), `${itemLoc}.url`),
          ]),
          listEditor(step, 'buttons', MAX_BUTTONS, loc, () => ({ type: 'web_url', title: '', url: '' }), (item, itemLoc) => [
            field(t('flows.button_type'), select([['web_url', t('flows.button.web_url')], ['postback', t('flows.button.postback')]], item.type, (v) => { item.type = v; if (v === 'web_url') { delete item.payload; item.url ||= ''; } else { delete item.url; item.payload ||= ''; } rerender(); }), `${itemLoc}.type`),
            field(t('flows.button_title'), textInput(item.title, (v) => (item.title = v), { maxlength: 20 }), `${itemLoc}.title`),
            item.type === 'web_url'
              ? field(t('flows.button_url'), textInput(item.url, (v) => (item.url = v), { type: 'url', placeholder: 'https://' }), `${itemLoc}.url`)
              : field(t('flows.payload'), textInput(item.payload, (v) => (item.payload = v)), `${itemLoc}.payload`),
          ]),
        ];
      case 'add_tag':
      case 'remove_tag':
        return [field(t('flows.tag'), tagOptions.length ? select(tagOptions, step.tag_id, (v) => (step.tag_id = v)) : h('p', { class: 'muted', text: t('flows.no_tags') }), `${loc}.tag_id`)];
      case 'assign': {
        const chosen = new Set(step.user_ids || (step.user_id ? [step.user_id] : []));
        const update = () => {
          delete step.user_id;
          delete step.user_ids;
          if (chosen.size === 1) step.user_id = [...chosen][0];
          else if (chosen.size > 1) step.user_ids = [...chosen];
        };
        return [
          h(
            'fieldset',
            { class: 'flow-members', dataset: { loc: `${loc}.user_id` } },
            h('legend', { class: 'field-label', text: t('flows.assign_to') }),
            memberOptions.map(([id, name]) => h('label', { class: 'checkbox' }, h('input', { type: 'checkbox', checked: chosen.has(id), on: { change: (e) => { if (e.target.checked) chosen.add(id); else chosen.delete(id); update(); } } }), name)),
            h('span', { class: 'hint', text: t('flows.round_robin_hint') }),
          ),
        ];
      }
      case 'wait': {
        const unit = step.seconds % 86400 === 0 ? 'days' : step.seconds % 3600 === 0 ? 'hours' : 'minutes';
        let amount = Math.max(1, Math.round(step.seconds / WAIT_UNITS[unit]));
        let chosenUnit = unit;
        const apply = () => (step.seconds = amount * WAIT_UNITS[chosenUnit]);
        return [
          h(
            'div',
            { class: 'field-row' },
            field(t('flows.wait_amount'), h('input', { type: 'number', min: 1, value: String(amount), on: { input: (e) => { amount = Number(e.target.value) || 0; apply(); } } }), `${loc}.seconds`),
            field(t('flows.wait_unit'), select(Object.keys(WAIT_UNITS).map((u) => [u, t(`flows.unit.${u}`)]), chosenUnit, (v) => { chosenUnit = v; apply(); }), `${loc}.unit`),
          ),
        ];
      }
      case 'reply_comment':
        return [
          field(t('flows.reply_mode'), select([['private', t('flows.reply_private')], ['public', t('flows.reply_public')]], step.mode, (v) => (step.mode = v)), `${loc}.mode`),
          field(t('flows.message_text'), h('textarea', { rows: 3, value: step.text || '', on: { input: (e) => (step.text = e.target.value) } }), `${loc}.text`, t('flows.variables_hint')),
          variablePicker(null, step),
        ];
      case 'decision':
        return [
          h('p', { class: 'field-label', text: t('flows.decision_if') }),
          conditionList(step, `${loc}.conditions`),
          h('div', { class: 'flow-branch', dataset: { branch: 'then' } }, h('p', { class: 'field-label', text: t('flows.branch_then') }), stepList(step.then, `${loc}.then`)),
          h('div', { class: 'flow-branch', dataset: { branch: 'else' } }, h('p', { class: 'field-label', text: t('flows.branch_else') }), stepList(step.else, `${loc}.else`)),
        ];
      default:
        return [h('p', { class: 'hint', text: t(`flows.step_hint.${step.type}`) })];
    }
  }

  function listEditor(step, key, max, loc, make, render) {
    step[key] ||= [];
    const items = step[key];
    return h(
      'fieldset',
      { class: 'flow-sublist', dataset: { loc: `${loc}.${key}` } },
      h('legend', { class: 'field-label', text: t(`flows.${key}_title`, { max }) }),
      items.map((item, index) => h('div', { class: 'flow-subitem' }, render(item, `${loc}.${key}.${index}`), h('button', { type: 'button', class: 'ghost small', text: t('flows.remove'), on: { click: () => { items.splice(index, 1); rerender(); } } }))),
      items.length < max ? h('button', { type: 'button', class: 'secondary small', text: t(`flows.add_${key}`), on: { click: () => { items.push(make()); rerender(); } } }) : null,
    );
  }

  function stepList(steps, loc) {
    const adder = select([['', t('flows.add_step')], ...STEP_TYPES.map((type) => [type, t(`flows.step.${type}`)])], '', (type) => {
      if (!type) return;
      steps.push(newStep(type, refs));
      rerender();
    }, { class: 'flow-add-step', 'aria-label': t('flows.add_step') });
    return h(
      'div',
      { class: 'flow-steps', dataset: { loc } },
      h(
        'ol',
        { class: 'flow-step-list' },
        steps.map((step, index) => {
          const stepLoc = `${loc}.${index}`;
          const move = (delta) => {
            const [moved] = steps.splice(index, 1);
            steps.splice(index + delta, 0, moved);
            rerender();
          };
          return h(
            'li',
            { class: 'flow-step', dataset: { loc: stepLoc, type: step.type } },
            h(
              'div',
              { class: 'flow-step-head' },
              h('span', { class: 'flow-step-title', text: `${index + 1}. ${t(`flows.step.${step.type}`)}` }),
              h(
                'span',
                { class: 'flow-step-tools' },
                index > 0 ? h('button', { type: 'button', class: 'ghost small', text: '↑', 'aria-label': t('flows.move_up'), on: { click: () => move(-1) } }) : null,
                index < steps.length - 1 ? h('button', { type: 'button', class: 'ghost small', text: '↓', 'aria-label': t('flows.move_down'), on: { click: () => move(1) } }) : null,
                h('button', { type: 'button', class: 'ghost small', text: t('flows.remove'), 'aria-label': t('flows.remove_step', { n: index + 1 }), on: { click: () => { steps.splice(index, 1); rerender(); } } }),
              ),
            ),
            stepFields(step, stepLoc),
          );
        }),
      ),
      adder,
    );
  }

  return h(
    'div',
    { class: 'flow-form' },
    field(t('flows.name'), textInput(flow.name, (v) => (flow.name = v), { maxlength: 120, required: true }), 'name'),
    h(
      'section',
      { class: 'flow-card', 'aria-labelledby': 'flow-trigger-title' },
      h('h2', { id: 'flow-trigger-title', text: t('flows.trigger_title') }),
      field(t('flows.trigger'), select(TRIGGERS.map((type) => [type, t(`flows.trigger.${type}`)]), flow.trigger.type, (v) => { flow.trigger = newTrigger(v, refs); rerender(); }), 'trigger.type'),
      triggerFields(flow.trigger),
    ),
    h('section', { class: 'flow-card', 'aria-labelledby': 'flow-conditions-title' }, h('h2', { id: 'flow-conditions-title', text: t('flows.conditions_title') }), h('p', { class: 'hint', text: t('flows.conditions_hint') }), conditionList(flow, 'conditions')),
    h('section', { class: 'flow-card', 'aria-labelledby': 'flow-steps-title' }, h('h2', { id: 'flow-steps-title', text: t('flows.steps_title') }), stepList(flow.steps, 'steps')),
  );
}

/** The definition the API takes (PUT/POST /v1/flows), from the editor's state. */
export function definitionBody(flow) {
  const body = { name: flow.name, trigger: flow.trigger, conditions: flow.conditions || [], match: flow.match || 'all', steps: flow.steps };
  if (flow.version) body.version = flow.version;
  return JSON.parse(JSON.stringify(body));
}

/** Shows the API's 422 details next to the fields they name; returns those it could not place. */
export function showFieldErrors(form, details) {
  for (const old of form.querySelectorAll('.field-error')) old.remove();
  for (const old of form.querySelectorAll('[aria-invalid="true"]')) old.removeAttribute('aria-invalid');
  const unplaced = [];
  for (const detail of details || []) {
    let path = locPath(detail.loc);
    let target = null;
    while (path && !target) {
      target = form.querySelector(`[data-loc="${CSS.escape(path)}"]`);
      if (!target) path = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '';
    }
    if (!target) {
      unplaced.push(detail);
      continue;
    }
    const control = target.querySelector('input, select, textarea');
    if (control && target.classList.contains('flow-field')) control.setAttribute('aria-invalid', 'true');
    const message = h('span', { class: 'field-error', role: 'alert', dataset: { code: detail.type }, text: describeDetail(detail) });
    if (target.matches('li, .flow-steps, .flow-conditions')) target.prepend(message);
    else target.append(message);
  }
  form.querySelector('[aria-invalid="true"], .field-error')?.scrollIntoView({ block: 'center' });
  return unplaced;
}
