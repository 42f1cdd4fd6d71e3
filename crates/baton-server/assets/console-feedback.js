// The learning loop in the agent console: on a customer message, relabel the
// intent the AI read; on a bot message, mark the answer wrong; on an agent
// message, save it as a reply template or an article draft. console.js calls
// BatonFeedback.decorate() for every transcript line it renders.
'use strict';

const BatonFeedback = (() => {
  const { el, api } = Baton;

  /** The workspace's intents, fetched once per page. */
  let intents = null;

  async function loadIntents(token) {
    if (!intents) {
      intents = api('GET', '/api/v1/intents', { token })
        .then((result) => result.intents)
        .catch((err) => {
          intents = null;
          throw err;
        });
    }
    return intents;
  }

  /** Send one feedback; the result line says what happened, as text. */
  async function send(ctx, status, body) {
    status.textContent = 'Saving…';
    try {
      const record = await api('POST', `/api/v1/conversations/${ctx.conversationId}/feedback`, {
        token: ctx.token, body,
      });
      status.textContent = record.draft
        ? `Saved to drafts/${record.draft} for review.`
        : 'Thanks: sent to a supervisor for review.';
      return true;
    } catch (err) {
      status.textContent = err.message;
      return false;
    }
  }

  /** A small form under a line, opened by one of its buttons. */
  function panel(line, build) {
    const old = line.querySelector('.feedback-panel');
    if (old) old.remove();
    const box = el('div', { class: 'feedback-panel' });
    build(box);
    line.append(box);
  }

  function relabelButton(line, event, ctx) {
    return el('button', {
      type: 'button', class: 'ghost small', text: 'Relabel intent',
      onclick: () => panel(line, async (box) => {
        const status = el('span', { class: 'hint', role: 'status' });
        const select = el('select', { 'aria-label': 'The intent this message really had' });
        box.append(select, status);
        try {
          for (const intent of await loadIntents(ctx.token)) {
            select.append(el('option', { value: intent.name, text: `${intent.label} (${intent.name})` }));
          }
        } catch (err) {
          status.textContent = err.message;
          return;
        }
        const save = el('button', {
          type: 'button', class: 'primary small', text: 'Save label',
          onclick: async () => {
            save.disabled = true;
            const ok = await send(ctx, status, {
              kind: 'relabel', message_seq: event.seq, intent: select.value,
            });
            save.disabled = ok;
          },
        });
        box.insertBefore(save, status);
      }),
    });
  }

  function wrongButton(line, event, ctx) {
    return el('button', {
      type: 'button', class: 'ghost small', text: 'Mark answer wrong',
      onclick: () => panel(line, (box) => {
        const note = el('input', {
          type: 'text', maxlength: '1000', placeholder: 'What was wrong? (optional)',
          'aria-label': 'What was wrong with the answer',
        });
        const status = el('span', { class: 'hint', role: 'status' });
        const save = el('button', {
          type: 'button', class: 'primary small', text: 'Mark wrong',
          onclick: async () => {
            save.disabled = true;
            const body = { kind: 'answer_wrong', message_seq: event.seq };
            if (note.value.trim()) body.note = note.value.trim();
            save.disabled = await send(ctx, status, body);
          },
        });
        box.append(note, save, status);
      }),
    });
  }

  function saveButton(line, event, ctx, kind, label) {
    return el('button', {
      type: 'button', class: 'ghost small', text: label,
      onclick: () => panel(line, (box) => {
        const title = el('input', {
          type: 'text', maxlength: '200', placeholder: 'Title (optional)',
          'aria-label': 'Title of the draft',
        });
        const status = el('span', { class: 'hint', role: 'status' });
        const save = el('button', {
          type: 'button', class: 'primary small', text: 'Save draft',
          onclick: async () => {
            save.disabled = true;
            const body = { kind, message_seq: event.seq };
            if (title.value.trim()) body.title = title.value.trim();
            save.disabled = await send(ctx, status, body);
          },
        });
        box.append(title, save, status);
      }),
    });
  }

  const KIND_TEXT = {
    relabel: 'relabelled the intent',
    answer_wrong: 'marked the answer wrong',
    save_template: 'saved a reply as a template draft',
    save_article_draft: 'saved a reply as an article draft',
  };

  /** A trace line for a feedback event. */
  function feedbackLine(event, ctx) {
    const who = event.actor && event.actor.id ? ctx.agentName(event.actor.id) : 'Someone';
    let text;
    if (event.type === 'feedback_given') {
      text = `${who} ${KIND_TEXT[event.kind] || event.kind} of message ${event.message_seq}`;
      if (event.intent) text += ` as ${event.intent}`;
      if (event.note) text += `: “${event.note}”`;
    } else {
      text = `${who} ${event.accepted ? 'accepted' : 'rejected'} the feedback at ${event.feedback_seq}`;
    }
    return el('li', { class: 'line trace feedback', 'data-seq': event.seq },
      el('div', { class: 'text', dir: 'auto', text: `${text} · ${ctx.clock(event.at)}` }));
  }

  /**
   * Add the feedback buttons to a rendered message line, or render a
   * feedback event. `ctx` holds the agent's token, the open conversation's
   * id, and the console's agentName and clock helpers. Returns the line to
   * show (or null).
   */
  function decorate(line, event, ctx) {
    if (event.type === 'feedback_given' || event.type === 'feedback_reviewed') {
      return feedbackLine(event, ctx);
    }
    if (!line || event.type !== 'message_posted' || !ctx.conversationId) return line;
    const buttons = {
      customer: () => [relabelButton(line, event, ctx)],
      bot: () => [wrongButton(line, event, ctx)],
      agent: () => [
        saveButton(line, event, ctx, 'save_template', 'Save as template'),
        saveButton(line, event, ctx, 'save_article_draft', 'Save as article draft'),
      ],
    }[event.author];
    if (buttons) line.append(el('div', { class: 'feedback-actions' }, buttons()));
    return line;
  }

  return { decorate };
})();
