//! Running a workspace's flows: filling slots from what the customer says,
//! verifying who they are, calling tools through the guardrails, and
//! replying with the facts the tools returned.
//!
//! A flow's state lives in the log, in the `detail.flow_state` of the
//! `decided` event each flow turn ends with, so that any node can continue
//! it and "why did the AI do that?" reads from the same events. Tool
//! results are data: they fill placeholders and conditions, and are never
//! read as instructions.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use tracing::info;

use baton_core::{
    Actor, AgentId, Analysis, Author, ConversationId, EntityKind, EscalationReason, Event,
    EventKind, Projection, Stage,
};

use crate::engine::{Engine, EngineError, Turn};
use crate::guardrails;
use crate::policy::{Action, Decision};
use crate::reports::{APPROVAL_GRANTED, APPROVAL_REJECTED};
use crate::tools::CallOutcome;
use crate::workspace::{
    parse_condition, ActionMessages, FlowDef, Op, Operand, ParamType, SlotDef, ToolDef, ToolKind,
    Workspace,
};

/// What a conversation's flow knows between turns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowState {
    /// The intent whose flow runs, if one does.
    pub flow: Option<String>,
    pub slots: Map<String, Value>,
    /// Each tool's last answer in this flow, by tool name.
    pub results: Map<String, Value>,
    /// The verified customer: `user_id` and the identity details. Kept
    /// across flows for the whole conversation.
    pub customer: Option<Value>,
    pub pending: Option<Pending>,
    /// The slot the last flow turn asked for, if it asked for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked: Option<String>,
    /// The customer said the e-mail the conversation started with is not
    /// theirs: it is not offered again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub start_email_declined: bool,
    /// The slots picked once per entry of another (`each`), by slot name:
    /// what is picked so far and each entry's lookup answer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub each: BTreeMap<String, EachPick>,
    /// How many times a lookup refused a value the customer gave and the
    /// slot was asked for again, in this flow.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub asked_again: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// How many times a refused lookup asks for the customer's value again
/// before the flow ends with the refusal.
const ASK_AGAIN_AT_MOST: u32 = 2;

/// What a flow's call came to: an answer is kept for the steps after it
/// (`None`: go on); a refusal or a failure is told, and ends the flow or,
/// for a lookup of a value the customer gave, asks for it again.
fn settle(
    workspace: &Workspace,
    turn: &mut Turn,
    flow: &FlowDef,
    tool: &ToolDef,
    state: &mut FlowState,
    outcome: CallOutcome,
) -> Result<Option<Step>, EngineError> {
    let messages = &workspace.actions.messages;
    match outcome {
        CallOutcome::Done { body, .. } => {
            state.results.insert(tool.name.clone(), body);
            Ok(None)
        }
        CallOutcome::Refused { message, .. } => {
            if let Some(step) = ask_again(workspace, turn, flow, tool, state, &message)? {
                return Ok(Some(step));
            }
            let values = with_error(workspace, state, &message);
            turn.say(Author::Bot, render(&messages.refused, &values)?, vec![])?;
            Ok(Some(Step::End("the system refused the call")))
        }
        CallOutcome::Failed { error, attempts, .. } => {
            let values = with_error(workspace, state, &error);
            let offer = vec!["Talk to a person".to_string()];
            let text = failure_text(messages, tool, attempts);
            turn.say(Author::Bot, render(text, &values)?, offer)?;
            Ok(Some(Step::End("the call failed")))
        }
    }
}

/// A lookup refused for a value the customer gave (an order number the
/// store does not know): the refusal is told and that slot asked for
/// again, so a typo does not send the customer back to the start. `None`
/// when the refused call used no slot's value, when it was a change (whose
/// refusal is a precondition, not a typo), or after [`ASK_AGAIN_AT_MOST`].
fn ask_again(
    workspace: &Workspace,
    turn: &mut Turn,
    flow: &FlowDef,
    tool: &ToolDef,
    state: &mut FlowState,
    message: &str,
) -> Result<Option<Step>, EngineError> {
    if tool.kind != ToolKind::Read || state.asked_again >= ASK_AGAIN_AT_MOST {
        return Ok(None);
    }
    let Some(slot) = flow.slots.iter().find(|s| {
        state.slots.contains_key(&s.name) && tool.params.values().any(|p| p.from == s.name)
    }) else {
        return Ok(None);
    };
    state.asked_again += 1;
    state.slots.remove(&slot.name);
    let refused =
        render(&workspace.actions.messages.refused, &with_error(workspace, state, message))?;
    let question = render(&slot.question, &scope(workspace, state))?;
    turn.say(Author::Bot, format!("{refused} {question}"), vec![])?;
    state.asked = Some(slot.name.clone());
    Ok(Some(Step::Wait("a lookup refused the value a slot was given; asked again")))
}

/// A slot picked once for every entry of a list slot, as far as it got.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EachPick {
    /// The entries of the list slot this is picked for, in order.
    pub entries: Vec<Value>,
    /// The value picked for each entry, `null` while not yet.
    pub picked: Vec<Value>,
    /// The slot's lookup answer for each entry, `null` while not read.
    pub looked_up: Vec<Value>,
    /// The entry the last question was about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asking: Option<usize>,
    /// Whether what the customer said before the first question was read.
    #[serde(default)]
    pub seeded: bool,
}

impl EachPick {
    fn new(entries: Vec<Value>) -> EachPick {
        let n = entries.len();
        EachPick {
            entries,
            picked: vec![Value::Null; n],
            looked_up: vec![Value::Null; n],
            asking: None,
            seeded: false,
        }
    }

    /// The first entry nothing is picked for yet.
    fn next_open(&self) -> Option<usize> {
        self.picked.iter().position(Value::is_null)
    }
}

/// What the e-mail a conversation started with does for its verification.
enum StartEmail {
    /// Look the customer up with it, without asking.
    Use(String),
    /// Ask the customer whether it is theirs.
    Confirm(String),
    None,
}

/// A write waiting for the customer's yes or a person's approval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pending {
    Confirmation {
        tool: String,
        parameters: Map<String, Value>,
    },
    Approval {
        id: String,
        tool: String,
        parameters: Map<String, Value>,
        step: usize,
    },
    /// An e-mail from the conversation's start, on a channel that does not
    /// sign customers in, waiting for the customer to say it is theirs.
    Identity {
        email: String,
    },
}

/// The answer a flow turn gives the engine.
enum Step {
    /// Wait for the customer.
    Wait(&'static str),
    /// The flow is over.
    End(&'static str),
    /// The conversation went to a person.
    Escalated,
}

impl Engine {
    /// The hook of the bot turn: run a flow if one is active or the
    /// decision's intent has one. False leaves the turn to the policy's own
    /// action. Escalations decided by the policy always win.
    pub(crate) async fn flow_turn(
        &self,
        turn: &mut Turn,
        analysis: &Analysis,
        text: &str,
        decision: &Decision,
    ) -> Result<bool, EngineError> {
        let actions = &self.workspace().actions;
        if actions.flows.is_empty() {
            return Ok(false);
        }
        let mut state = self.flow_state(turn).await?;
        let intent = match &decision.action {
            Action::Template { intent, .. } => Some(intent.as_str()),
            Action::Knowledge { intent: Some(intent), .. } => Some(intent.as_str()),
            _ => None,
        };

        // A new intent with its own flow replaces the active one only when
        // the message asks for it in words of its own and does not answer
        // what the active flow is waiting for: a slot's value, an entry of
        // a list it reads, a yes or a no, or "I don't have it" to a value
        // it can look up.
        let active = state.flow.as_deref().and_then(|f| actions.flow(f));
        let yes_no_asked =
            matches!(state.pending, Some(Pending::Confirmation { .. } | Pending::Identity { .. }));
        let answers_active = active.is_some_and(|flow| {
            (analysis.affirmation.is_some()
                || yes_at_length(&state, text)
                || self.go_ahead(flow, &state, text))
                && yes_no_asked
                || pick::says_no(text)
                    && matches!(state.pending, Some(Pending::Confirmation { .. }))
                || fills_any(flow, analysis, text)
                || picks_any(self.workspace(), flow, &state, text)
                || pick::says_unknown(text) && waits_for_pick(flow, &state)
        });

        // A question while a change waits for the customer's yes ("what
        // would the price difference be?") is a side question, not a new
        // request, unless it names what the other flow needs: the policy
        // answers it and the change still waits for the yes.
        let awaiting_yes = matches!(state.pending, Some(Pending::Confirmation { .. }));
        let new_flow = intent.and_then(|i| actions.flow(i));
        if awaiting_yes
            && !answers_active
            && is_question(text)
            && new_flow.is_some_and(|new| {
                active.is_some_and(|old| old.intent != new.intent)
                    && !fills_any(new, analysis, text)
            })
        {
            return Ok(false);
        }

        // Escalations decided by the policy win, except those that come
        // from reading a bare answer as if it were a request: an e-mail
        // address or an order number alone has no language and no intent.
        if let Action::Escalate { reason, .. } = &decision.action {
            let weak = matches!(
                reason,
                EscalationReason::UnsupportedLanguage
                    | EscalationReason::RepeatedMisunderstanding
                    | EscalationReason::HumanOnlyIntent
            );
            if !(weak && answers_active) {
                return Ok(false);
            }
        }
        let chosen = match (intent.and_then(|i| actions.flow(i)), active) {
            (Some(new), Some(old))
                if new.intent != old.intent
                    && !answers_active
                    && asks_for(self.workspace(), &new.intent, &old.intent, text) =>
            {
                // A change left waiting for its yes is dropped, and the
                // customer is told so before the new request is taken up.
                if matches!(state.pending, Some(Pending::Confirmation { .. })) {
                    let label = self
                        .workspace()
                        .intent(&old.intent)
                        .map_or(old.intent.replace('_', " "), |i| i.label.clone());
                    let values = with_value(self.workspace(), &state, "abandoned", &label);
                    let notice = render(&actions.messages.abandoned, &values)?;
                    turn.say(Author::Bot, notice, vec![])?;
                }
                restart(&mut state, new);
                new
            }
            // A confident question of another kind ("how long does shipping
            // take?") that says nothing the flow waits for is answered by the
            // policy; the flow stays where it was for the next turn.
            (None, Some(old))
                if intent.is_some_and(|i| i != old.intent.as_str()) && !answers_active =>
            {
                return Ok(false);
            }
            (_, Some(old)) => old,
            (Some(new), None) => {
                restart(&mut state, new);
                new
            }
            (None, None) => return Ok(false),
        };

        // A flow just started takes what the customer said earlier in this
        // segment ("my order is #W..." before "cancel it").
        if state.slots.is_empty() && state.results.is_empty() && state.pending.is_none() {
            self.prefill(turn, chosen, &mut state).await?;
        }

        let outcome = self.run_flow(turn, chosen, &mut state, analysis, text).await?;
        let reason = match outcome {
            Step::Wait(why) | Step::End(why) => why,
            Step::Escalated => "the call waits for a person's approval",
        };
        if matches!(outcome, Step::End(_)) {
            end(&mut state);
        }
        info!(flow = %chosen.intent, reason, "flow turn");
        turn.push(
            Actor::Bot,
            EventKind::Decided {
                action: "flow".into(),
                reason: format!("flow `{}`: {reason}", chosen.intent),
                detail: json!({"flow": chosen.intent, "flow_state": state}),
            },
        )?;
        Ok(true)
    }

    /// Whether a message says to go ahead with the summary at length, and
    /// names no other request and no other entry than the summary has: "yes, go ahead
    /// with my paypal" to a summary for the visa card is no yes to it.
    fn go_ahead(&self, flow: &FlowDef, state: &FlowState, text: &str) -> bool {
        // "Yes, please go ahead and cancel the order" to a summary of an
        // item change is a yes to something else.
        if !pick::says_go_ahead(text) || names_other_request(self.workspace(), &flow.intent, text) {
            return false;
        }
        let values = scope(self.workspace(), state);
        !flow.slots.iter().any(|slot| {
            let (Some(among), Some(matches)) = (&slot.among, &slot.matches) else { return false };
            let entries = pick::entries(resolve(&values, among));
            let current = state.slots.get(&slot.name);
            pick::named(matches, &entries, text).into_iter().any(|i| {
                let value = match &slot.value {
                    Some(field) => resolve(&entries[i], field),
                    None => Some(entries[i].clone()),
                };
                match (value, current) {
                    (Some(v), Some(Value::Array(chosen))) => !chosen.contains(&v),
                    (Some(v), Some(c)) => {
                        plain(&v).trim_start_matches('#') != plain(c).trim_start_matches('#')
                    }
                    _ => true,
                }
            })
        })
    }

    /// Fill a flow's slots from the segment's earlier customer messages,
    /// oldest first, so that the latest value wins.
    async fn prefill(
        &self,
        turn: &Turn,
        flow: &FlowDef,
        state: &mut FlowState,
    ) -> Result<(), EngineError> {
        let mut events = self.store().events(turn.state.id, turn.state.segment_start).await?;
        events.retain(|e| e.seq <= turn.base_seq);
        let text_at = |seq: u64| {
            events.iter().find_map(|e| match &e.kind {
                EventKind::MessagePosted { author: Author::Customer, text, .. } if e.seq == seq => {
                    Some(text.clone())
                }
                _ => None,
            })
        };
        for event in &events {
            if let EventKind::MessageAnalysed { message_seq, analysis } = &event.kind {
                let text = text_at(*message_seq).unwrap_or_default();
                fill_slots(flow, &mut state.slots, analysis, &text);
            }
        }
        Ok(())
    }

    /// The latest flow state of the conversation, from its log.
    async fn flow_state(&self, turn: &Turn) -> Result<FlowState, EngineError> {
        let mut events = self.store().events(turn.state.id, 0).await?;
        events.retain(|e| e.seq <= turn.base_seq);
        events.extend(turn.new.iter().cloned());
        Ok(latest_state(&events))
    }

    async fn run_flow(
        &self,
        turn: &mut Turn,
        flow: &FlowDef,
        state: &mut FlowState,
        analysis: &Analysis,
        text: &str,
    ) -> Result<Step, EngineError> {
        let workspace = self.workspace();
        let messages = &workspace.actions.messages;
        let asked = state.asked.take();

        // 1. What the message says: slots (a new value is a change of mind,
        //    and what was looked up for the old one is forgotten).
        let before = state.slots.clone();
        if fill_slots(flow, &mut state.slots, analysis, text) {
            forget_after_change(flow, state, &before);
        }
        let given_now: Vec<String> = state
            .slots
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect();

        // 2. An answer to a pending confirmation.
        let mut confirmed = None;
        match state.pending.take() {
            Some(Pending::Confirmation { tool, parameters }) => match analysis
                .affirmation
                .or_else(|| self.go_ahead(flow, state, text).then_some(true))
                .or_else(|| pick::says_no(text).then_some(false))
            {
                Some(true) => confirmed = Some((tool, parameters)),
                Some(false) => {
                    let reply = render(&messages.declined, &scope(workspace, state))?;
                    turn.say(Author::Bot, reply, vec![])?;
                    return Ok(Step::End("the customer said no; nothing was changed"));
                }
                None => {}
            },
            identity @ Some(Pending::Identity { .. }) => state.pending = identity,
            _ => {}
        }

        // 3. Who the customer is, when the flow needs it.
        if flow.verify && state.customer.is_none() {
            if let Some(step) = self.verify(turn, state, analysis, text).await? {
                return Ok(step);
            }
        }

        // 3b. Slots picked from a list the tools give: "the desk lamp", "my
        //     last order", "actually, the other one".
        let notice = self.pick_slots(turn, flow, state, text, &given_now, asked.as_deref()).await?;
        if let Some(notice) = notice {
            turn.say(Author::Bot, notice, vec![])?;
        }

        // 4. The slots still missing, one question at a time; the steps
        //    that need none of them run first, so an order that cannot be
        //    cancelled is told so before the customer is asked why.
        let missing = |state: &FlowState| {
            let values = scope(workspace, state);
            flow.slots.iter().any(|s| {
                !s.optional
                    && !state.slots.contains_key(&s.name)
                    && s.when.as_deref().is_none_or(|w| holds(w, &values))
            })
        };
        if missing(state) {
            if let Some(step) = self.leading_steps(turn, flow, state).await? {
                return Ok(step);
            }
        }
        let values = scope(workspace, state);
        if let Some(slot) = flow.slots.iter().find(|s| {
            !s.optional
                && !state.slots.contains_key(&s.name)
                && s.when.as_deref().is_none_or(|w| holds(w, &values))
        }) {
            // A slot picked per entry asks about the first entry still
            // open, in that entry's words.
            let open = state.each.get(&slot.name).and_then(EachPick::next_open);
            let values = match open {
                Some(i) => entry_scope(&scope(workspace, state), slot, &state.each[&slot.name], i),
                None => scope(workspace, state),
            };
            if let (Some(i), Some(pick)) = (open, state.each.get_mut(&slot.name)) {
                pick.asking = Some(i);
            }
            // A question quoting a list that could not be read is asked
            // without it, never with a hole.
            let question = render(&slot.question, &values).or_else(|_| {
                let plain = slot.question.split('{').next().unwrap_or_default().trim();
                let ask = format!("Could you tell me the {}?", slot.name.replace('_', " "));
                Ok::<_, EngineError>(if plain.ends_with('?') { plain.to_string() } else { ask })
            })?;
            state.asked = Some(slot.name.clone());
            // "I don't have the order number" to the question for it: the
            // entries it is picked from are listed, for the customer to say
            // which, or the customer is told there are none.
            if let Some(among) = slot.among.as_deref().filter(|_| {
                asked.as_deref() == Some(slot.name.as_str())
                    && pick::says_unknown(text)
                    && mentions(&slot.name, text)
            }) {
                let options = pick::listed(slot, &pick::entries(resolve(&values, among)));
                let reply = if options.is_empty() {
                    render(&messages.none_listed, &values)?
                } else {
                    let values = with_value(workspace, state, "options", &options.join("; "));
                    render(&messages.listed, &values)?
                };
                turn.say(Author::Bot, reply, vec![])?;
                return Ok(Step::Wait("listed the entries a slot is picked from"));
            }
            turn.say(Author::Bot, question, vec![])?;
            return Ok(Step::Wait("asked for a slot"));
        }

        // 5. The steps, from the top: reads are cached, a write runs once.
        for (index, step) in flow.steps.iter().enumerate() {
            if let Some(when) = &step.when {
                if !holds(when, &scope(workspace, state)) {
                    continue;
                }
            }
            if let Some(name) = &step.call {
                let Some(tool) = workspace.actions.tool(name) else { continue };
                let params = match parameters(tool, &scope(workspace, state)) {
                    Ok(p) => p,
                    Err(_) if unmatched_slot(flow, tool, state, workspace).is_some() => {
                        // A slot's value that picks nothing from a lookup
                        // ("the desk lamp" of an order without one): told,
                        // and the slot is asked for again.
                        let slot = unmatched_slot(flow, tool, state, workspace).expect("found");
                        let named = state.slots.remove(&slot.name).map(|v| plain(&v));
                        let values =
                            with_value(workspace, state, "named", &named.unwrap_or_default());
                        turn.say(Author::Bot, render(&messages.not_in_list, &values)?, vec![])?;
                        let question = render(&slot.question, &scope(workspace, state))?;
                        turn.say(Author::Bot, question, vec![])?;
                        state.asked = Some(slot.name.clone());
                        return Ok(Step::Wait("a slot's value picked nothing; asked again"));
                    }
                    Err(error) => {
                        let reply =
                            render(&messages.invalid, &with_error(workspace, state, &error))?;
                        turn.say(Author::Bot, reply, vec![])?;
                        return Ok(Step::Wait("a value did not fit the tool"));
                    }
                };
                if tool.kind == ToolKind::Read && state.results.contains_key(name) {
                    // Looked up already for these slots.
                } else {
                    if tool.requires_verified_customer && state.customer.is_none() {
                        if let Some(step) = self.verify(turn, state, analysis, text).await? {
                            return Ok(step);
                        }
                    }
                    if tool.kind == ToolKind::Write {
                        let gate =
                            self.gate(turn, tool, &params, state, &mut confirmed, index).await?;
                        if let Some(step) = gate {
                            return Ok(step);
                        }
                    }
                    let allowed_by = match tool.kind {
                        ToolKind::Read => json!("read"),
                        ToolKind::Write => json!("customer_confirmation"),
                    };
                    let outcome =
                        self.call_tool(turn, tool, &params, Actor::Bot, allowed_by).await?;
                    if let Some(step) = settle(workspace, turn, flow, tool, state, outcome)? {
                        return Ok(step);
                    }
                }
            }
            if let Some(say) = &step.say {
                turn.say(Author::Bot, render(say, &scope(workspace, state))?, vec![])?;
            }
            if step.stop {
                return Ok(Step::End("a stopping step was reached"));
            }
        }
        Ok(Step::End("every step ran"))
    }

    /// The steps at the top of a flow that need no slot still missing:
    /// reads that can run, and stopping replies whose facts are all known
    /// (another customer's order, an order already delivered). They stop at
    /// the first step that needs more, and never run a write. `Some` when
    /// one of them ended the flow.
    async fn leading_steps(
        &self,
        turn: &mut Turn,
        flow: &FlowDef,
        state: &mut FlowState,
    ) -> Result<Option<Step>, EngineError> {
        let workspace = self.workspace();
        for step in &flow.steps {
            let values = scope(workspace, state);
            if let Some(when) = &step.when {
                if !decidable(when, &values) {
                    return Ok(None);
                }
                if !holds(when, &values) {
                    continue;
                }
            }
            if let Some(name) = &step.call {
                let Some(tool) = workspace.actions.tool(name) else { return Ok(None) };
                if tool.kind == ToolKind::Write {
                    return Ok(None);
                }
                if !state.results.contains_key(name) {
                    let Ok(params) = parameters(tool, &values) else { return Ok(None) };
                    if tool.requires_verified_customer && state.customer.is_none() {
                        return Ok(None);
                    }
                    let outcome =
                        self.call_tool(turn, tool, &params, Actor::Bot, json!("read")).await?;
                    if let Some(step) = settle(workspace, turn, flow, tool, state, outcome)? {
                        return Ok(Some(step));
                    }
                }
            }
            // Only a reply that ends the flow is said here; one that goes
            // on would be said again when the steps run in full.
            if let Some(say) = &step.say {
                if !step.stop {
                    return Ok(None);
                }
                let Ok(text) = render(say, &scope(workspace, state)) else { return Ok(None) };
                turn.say(Author::Bot, text, vec![])?;
                return Ok(Some(Step::End("a stopping step was reached")));
            }
            if step.stop {
                return Ok(Some(Step::End("a stopping step was reached")));
            }
        }
        Ok(None)
    }

    /// The rules a write passes before it runs: rate limits, the approval
    /// limit, the customer's yes to exactly these parameters.
    async fn gate(
        &self,
        turn: &mut Turn,
        tool: &ToolDef,
        params: &Map<String, Value>,
        state: &mut FlowState,
        confirmed: &mut Option<(String, Map<String, Value>)>,
        step: usize,
    ) -> Result<Option<Step>, EngineError> {
        let workspace = self.workspace();
        let messages = &workspace.actions.messages;
        let user = state.customer.as_ref().map(|c| c["user_id"].clone());
        let earlier = self.earlier_calls(turn, tool, params, user.as_ref()).await?;
        if let Some(why) = guardrails::rate_limited(tool, earlier.here, earlier.theirs) {
            turn.push(
                Actor::Bot,
                EventKind::Decided {
                    action: "rate_limited".into(),
                    reason: why.clone(),
                    detail: json!({"tool": tool.name, "parameters": params}),
                },
            )?;
            let values = with_value(workspace, state, "tool", &tool.name);
            turn.say(Author::Bot, render(&messages.rate_limited, &values)?, vec![])?;
            return Ok(Some(Step::End("a rate limit was reached")));
        }

        let agreed = confirmed.as_ref().is_some_and(|(t, p)| t == &tool.name && p == params);
        if tool.requires_confirmation && !agreed {
            let summary = tool.confirm.as_deref().unwrap_or("Shall I go ahead?");
            let text = render(summary, &scope(workspace, state))?;
            turn.say(Author::Bot, text, vec!["Yes".into(), "No".into()])?;
            state.pending =
                Some(Pending::Confirmation { tool: tool.name.clone(), parameters: params.clone() });
            return Ok(Some(Step::Wait("asked the customer to confirm")));
        }

        let policy = guardrails::approval_needed_after(tool, params, earlier.approved_alone);
        if let Some(policy) = policy {
            let id = format!("ap-{}-{}", turn.state.id, turn.state.last_seq + 1);
            let values = with_value(workspace, state, "policy", &policy);
            turn.say(Author::Bot, render(&messages.approval_pending, &values)?, vec![])?;
            state.pending = Some(Pending::Approval {
                id: id.clone(),
                tool: tool.name.clone(),
                parameters: params.clone(),
                step,
            });
            let evidence = json!({
                "approval_id": id,
                "tool": tool.name,
                "parameters": params,
                "policy": policy,
                "description": tool.description,
            });
            self.escalate(turn, EscalationReason::ApprovalRequired, evidence).await?;
            return Ok(Some(Step::Escalated));
        }
        *confirmed = None;
        Ok(None)
    }

    /// Ask for, or check, who the customer is. `None` when verified now.
    async fn verify(
        &self,
        turn: &mut Turn,
        state: &mut FlowState,
        analysis: &Analysis,
        text: &str,
    ) -> Result<Option<Step>, EngineError> {
        let workspace = self.workspace();
        let Some(identity) = &workspace.actions.identity else {
            return Ok(None);
        };
        let mut email = analysis.entities_of(EntityKind::Email).next().map(|e| e.value.clone());
        let affirmation = analysis.affirmation.or(yes_at_length(state, text).then_some(true));
        let claimed = match state.pending.take() {
            Some(Pending::Identity { email }) => Some(email),
            other => {
                state.pending = other;
                None
            }
        };
        let named = self.names_and_zips_said(turn, text).await?;
        if email.is_none() && named.is_empty() && identity.by_email.is_some() {
            match self.start_email(turn, state, claimed, affirmation).await? {
                StartEmail::Use(known) => email = Some(known),
                StartEmail::Confirm(known) => {
                    let values = with_value(workspace, state, "email", &known);
                    let question = render(&identity.confirm_email, &values)?;
                    turn.say(Author::Bot, question, vec!["Yes".into(), "No".into()])?;
                    state.pending = Some(Pending::Identity { email: known });
                    return Ok(Some(Step::Wait("asked the customer to confirm their e-mail")));
                }
                StartEmail::None => {}
            }
        }
        // Every way the message offers, e-mail first: a customer who gives
        // a mistyped e-mail with their name and zip is still found.
        let mut lookups = Vec::new();
        if let (Some(email), Some(tool)) = (email, &identity.by_email) {
            lookups.push((tool, json!({"email": email})));
        }
        if let Some(tool) = &identity.by_name_zip {
            for (first, last, zip) in named {
                lookups.push((tool, json!({"first_name": first, "last_name": last, "zip": zip})));
            }
        }
        if lookups.is_empty() {
            turn.say(Author::Bot, render(&identity.question, &scope(workspace, state))?, vec![])?;
            return Ok(Some(Step::Wait("asked the customer who they are")));
        }
        let mut user_id = None;
        let mut outcome = None;
        for (tool_name, given) in lookups {
            let Some(tool) = workspace.actions.tool(tool_name) else { return Ok(None) };
            let mut lookup_scope = scope(workspace, state);
            if let (Value::Object(s), Value::Object(g)) = (&mut lookup_scope, &given) {
                s.extend(g.clone());
            }
            let params = parameters(tool, &lookup_scope).unwrap_or_default();
            let answer = self.call_tool(turn, tool, &params, Actor::Bot, json!("read")).await?;
            user_id = match &answer {
                CallOutcome::Done { body, .. } => resolve(body, &identity.user_id),
                _ => None,
            };
            outcome = Some(answer);
            if user_id.is_some() {
                break;
            }
        }
        let Some(user_id) = user_id else {
            if let Some(CallOutcome::Failed { error, .. }) = &outcome {
                let values = with_error(workspace, state, error);
                let reply = render(&workspace.actions.messages.failed, &values)?;
                turn.say(Author::Bot, reply, vec!["Talk to a person".into()])?;
                return Ok(Some(Step::End("the identity check failed")));
            }
            turn.say(Author::Bot, render(&identity.not_found, &scope(workspace, state))?, vec![])?;
            return Ok(Some(Step::Wait("the customer could not be verified")));
        };

        let mut customer = json!({"user_id": user_id});
        if let Some(details) = identity.details.as_deref().and_then(|d| workspace.actions.tool(d)) {
            let params: Map<String, Value> =
                [("user_id".to_string(), user_id.clone())].into_iter().collect();
            let outcome = self.call_tool(turn, details, &params, Actor::Bot, json!("read")).await?;
            if let CallOutcome::Done { body: Value::Object(fields), .. } = outcome {
                customer.as_object_mut().expect("an object").extend(fields);
                customer["user_id"] = user_id;
            }
        }
        state.customer = Some(customer);
        Ok(None)
    }

    /// The names and zip codes to look the customer up by: the ones in
    /// this message, then a zip code in it with the name of the customer's
    /// message before ("I made a mistake with my zip code, it's 98187";
    /// "Aarav Santos, but I don't remember the zip code", then the zip).
    async fn names_and_zips_said(
        &self,
        turn: &Turn,
        text: &str,
    ) -> Result<Vec<(String, String, String)>, EngineError> {
        let mut found: Vec<_> = name_and_zip(text).into_iter().collect();
        let Some(zip) = zip_in(text) else { return Ok(found) };
        let texts = self.customer_texts(turn, text).await?;
        // The message itself may be in the log already.
        if let Some(before) = texts.iter().skip(1).find(|t| t.as_str() != text) {
            // The zip code said now stands in for any said before.
            let with_zip = format!("{} {zip}", ZIP.replace_all(before, ""));
            if let Some((first, last, _)) = name_and_zip(&with_zip) {
                let candidate = (first, last, zip);
                if !found.contains(&candidate) {
                    found.push(candidate);
                }
            }
        }
        Ok(found)
    }

    /// What the e-mail given when the conversation was created counts for:
    /// verified on a channel the workspace says signs customers in, a claim
    /// to confirm elsewhere. `claimed` is the e-mail asked about last turn.
    async fn start_email(
        &self,
        turn: &Turn,
        state: &mut FlowState,
        claimed: Option<String>,
        affirmation: Option<bool>,
    ) -> Result<StartEmail, EngineError> {
        let workspace = self.workspace();
        let Some(identity) = &workspace.actions.identity else { return Ok(StartEmail::None) };
        if let Some(email) = claimed {
            return Ok(match affirmation {
                Some(true) => StartEmail::Use(email),
                Some(false) => {
                    state.start_email_declined = true;
                    StartEmail::None
                }
                None => StartEmail::Confirm(email),
            });
        }
        if state.start_email_declined {
            return Ok(StartEmail::None);
        }
        let customer = self.store().customer(turn.state.customer_id).await?;
        let Some(email) = customer.and_then(|c| c.email) else { return Ok(StartEmail::None) };
        if identity.authenticated_channels.iter().any(|c| c == &turn.state.channel) {
            Ok(StartEmail::Use(email))
        } else {
            Ok(StartEmail::Confirm(email))
        }
    }

    /// Fill the slots that are picked from a list, and turn one to "the
    /// other" entry when the customer changes their mind. A slot whose
    /// list cannot be read yet (its lookup needs a slot still missing, or
    /// the customer is not verified) waits for a later turn.
    /// What it returns is said before the next question: entries the
    /// customer named that the list lacks.
    async fn pick_slots(
        &self,
        turn: &mut Turn,
        flow: &FlowDef,
        state: &mut FlowState,
        text: &str,
        given_now: &[String],
        asked: Option<&str>,
    ) -> Result<Option<String>, EngineError> {
        let workspace = self.workspace();
        let mut said: Option<Vec<String>> = None;
        let mut turned = false;
        let mut notice = None;
        for slot in &flow.slots {
            let Some(among) = &slot.among else { continue };
            if given_now.contains(&slot.name) {
                continue;
            }
            if slot.each.is_some() {
                if said.is_none() {
                    said = Some(self.customer_texts(turn, text).await?);
                }
                let texts = said.clone().unwrap_or_default();
                self.pick_each(turn, flow, slot, state, &texts, asked).await?;
                continue;
            }
            // The list is read even for a slot that has its value: a later
            // slot's lookup may need it (an item's product, say).
            if let Some(lookup) = &slot.lookup {
                if !self.look_up(turn, state, lookup).await? {
                    continue;
                }
            }
            if let Some(when) = &slot.when {
                if !holds(when, &scope(workspace, state)) {
                    continue;
                }
            }
            let current = state.slots.get(&slot.name).cloned();
            // TODO: a list slot, once picked, changes only by "the other one";
            // "let's just change the backpack" does not drop the other items
            // from it, for want of a way to read a narrowing from a message.
            let turning = current.is_some() && !turned && pick::says_other(text);
            if current.is_some() && !turning {
                continue;
            }
            let values = scope(workspace, state);
            let entries = pick::entries(resolve(&values, among));
            let original = slot.original.as_deref().and_then(|r| resolve(&values, r));
            if entries.is_empty() && original.is_none() {
                continue;
            }
            // A change of mind is read from this message alone; a first
            // pick from everything the customer said in this segment.
            let texts = if turning {
                vec![text.to_string()]
            } else {
                if said.is_none() {
                    said = Some(self.customer_texts(turn, text).await?);
                }
                said.clone().unwrap_or_default()
            };
            // An entry named that is in the wider list only ("the floor lamp"
            // of another order) is told; the entries named that the list has
            // are picked, and when there are none, nothing is.
            // TODO: only entries of `wider` can be told missing; a product the
            // customer never ordered needs a catalogue list to be named from.
            if let (Some(wider), Some(matches), false) = (&slot.wider, &slot.matches, turning) {
                let wide = pick::entries(resolve(&values, wider));
                let said = texts.iter().find(|t| {
                    !pick::named(matches, &entries, t).is_empty()
                        || !pick::named(matches, &wide, t).is_empty()
                });
                let missing =
                    said.map(|t| pick::not_in(matches, &entries, &wide, t)).unwrap_or_default();
                let none_here = said.is_none_or(|t| pick::named(matches, &entries, t).is_empty());
                if !missing.is_empty() {
                    let text = slot
                        .not_in_list
                        .as_deref()
                        .unwrap_or(&workspace.actions.messages.not_in_list);
                    let named = with_value(workspace, state, "named", &pick::join_and(&missing));
                    notice = Some(render(text, &named)?);
                    if none_here {
                        continue;
                    }
                }
            }
            let Some(mut value) = pick::pick(slot, &entries, current.as_ref(), &texts, original)
            else {
                continue;
            };
            // An order number picked from a list reads as one the customer
            // typed: without its `#`.
            if let (Some("order_number"), Value::String(s)) = (slot.entity.as_deref(), &value) {
                value = json!(s.trim_start_matches('#'));
            }
            if current.as_ref() == Some(&value) {
                continue;
            }
            let before = state.slots.clone();
            state.slots.insert(slot.name.clone(), value);
            if turning {
                turned = true;
                forget_after_change(flow, state, &before);
            }
        }
        Ok(notice)
    }

    /// Pick a slot once for every entry of its `each` slot: from all the
    /// customer said before the first question about it, then from each
    /// answer, for the entry it was asked about or the entries it names
    /// (each from what it says about that one). The slot gets its value,
    /// the list in the entries' order, when every entry has one.
    async fn pick_each(
        &self,
        turn: &mut Turn,
        flow: &FlowDef,
        slot: &SlotDef,
        state: &mut FlowState,
        texts: &[String],
        asked: Option<&str>,
    ) -> Result<(), EngineError> {
        let workspace = self.workspace();
        let (Some(each), Some(among)) = (&slot.each, &slot.among) else { return Ok(()) };
        let source = match state.slots.get(each) {
            Some(Value::Array(list)) => list.clone(),
            Some(one) => vec![one.clone()],
            None => {
                state.each.remove(&slot.name);
                state.slots.remove(&slot.name);
                return Ok(());
            }
        };
        // Other entries than the ones this was picked for: picked again.
        let fits = |p: &EachPick| {
            p.entries == source
                && p.picked.len() == source.len()
                && p.looked_up.len() == source.len()
        };
        if !state.each.get(&slot.name).is_some_and(fits) {
            state.each.insert(slot.name.clone(), EachPick::new(source.clone()));
            state.slots.remove(&slot.name);
        }
        if state.slots.contains_key(&slot.name) {
            return Ok(());
        }
        // What the entries' lookups read from: the earlier slots' lookups,
        // read again when a change of mind this turn forgot them.
        let earlier = flow.slots.iter().take_while(|s| s.name != slot.name);
        for lookup in earlier.filter(|s| s.each.is_none()).filter_map(|s| s.lookup.as_deref()) {
            self.look_up(turn, state, lookup).await?;
        }
        let Some(mut progress) = state.each.remove(&slot.name) else { return Ok(()) };
        let answering = progress.asking.filter(|_| asked == Some(slot.name.as_str()));
        let names = self.entry_names(flow, each, state, &source);
        let newest = texts.first().map(String::as_str).unwrap_or_default();
        for i in 0..source.len() {
            if !progress.picked[i].is_null() {
                continue;
            }
            if let Some(lookup) = slot.lookup.as_deref().filter(|_| progress.looked_up[i].is_null())
            {
                let values = entry_scope(&scope(workspace, state), slot, &progress, i);
                match self.read_for(turn, state, lookup, &values).await? {
                    Some(body) => progress.looked_up[i] = body,
                    None => continue,
                }
            }
            // Each message for what it says about this entry; after the
            // first question, the newest only, and only if it names this
            // entry or answers the question about it.
            let texts: Vec<String> = if !progress.seeded {
                texts.iter().filter_map(|t| pick::about(&names, i, t)).map(|(t, _)| t).collect()
            } else {
                match pick::about(&names, i, newest) {
                    Some((part, named)) if named || answering == Some(i) => vec![part],
                    _ => continue,
                }
            };
            let values = entry_scope(&scope(workspace, state), slot, &progress, i);
            if slot.when.as_deref().is_some_and(|w| !holds(w, &values)) {
                continue;
            }
            let entries = pick::entries(resolve(&values, among));
            let original = slot.original.as_deref().and_then(|r| resolve(&values, r));
            if entries.is_empty() && original.is_none() {
                continue;
            }
            if let Some(value) = pick::pick(slot, &entries, None, &texts, original) {
                progress.picked[i] = value;
            }
        }
        progress.seeded = true;
        if progress.next_open().is_none() {
            state.slots.insert(slot.name.clone(), Value::Array(progress.picked.clone()));
        }
        state.each.insert(slot.name.clone(), progress);
        Ok(())
    }

    /// The words that name each entry of a list slot (an item's name), by
    /// that slot's `match` over its list.
    fn entry_names(
        &self,
        flow: &FlowDef,
        list_slot: &str,
        state: &FlowState,
        values: &[Value],
    ) -> Vec<BTreeSet<String>> {
        let source = flow.slots.iter().find(|s| s.name == list_slot);
        let (Some(among), Some(matches)) =
            (source.and_then(|s| s.among.as_ref()), source.and_then(|s| s.matches.as_ref()))
        else {
            return vec![BTreeSet::new(); values.len()];
        };
        let field = source.and_then(|s| s.value.as_deref());
        let entries = pick::entries(resolve(&scope(self.workspace(), state), among));
        values
            .iter()
            .map(|v| {
                let entry = entries.iter().find(|e| match field {
                    Some(f) => resolve(e, f).as_ref() == Some(v),
                    None => *e == v,
                });
                entry.map(|e| pick::name_words(matches, e)).unwrap_or_default()
            })
            .collect()
    }

    /// A read for one entry's scope, its answer not kept in the results.
    /// `None` when it cannot run yet or did not answer.
    async fn read_for(
        &self,
        turn: &mut Turn,
        state: &FlowState,
        name: &str,
        values: &Value,
    ) -> Result<Option<Value>, EngineError> {
        let workspace = self.workspace();
        let Some(tool) = workspace.actions.tool(name) else { return Ok(None) };
        let Ok(params) = parameters(tool, values) else { return Ok(None) };
        if tool.requires_verified_customer && state.customer.is_none() {
            return Ok(None);
        }
        match self.call_tool(turn, tool, &params, Actor::Bot, json!("read")).await? {
            CallOutcome::Done { body, .. } => Ok(Some(body)),
            _ => Ok(None),
        }
    }

    /// A read a slot's list comes from, called once for the slots it has.
    /// False when it cannot run yet or did not answer.
    async fn look_up(
        &self,
        turn: &mut Turn,
        state: &mut FlowState,
        name: &str,
    ) -> Result<bool, EngineError> {
        if state.results.contains_key(name) {
            return Ok(true);
        }
        let workspace = self.workspace();
        let Some(tool) = workspace.actions.tool(name) else { return Ok(false) };
        let Ok(params) = parameters(tool, &scope(workspace, state)) else { return Ok(false) };
        if tool.requires_verified_customer && state.customer.is_none() {
            return Ok(false);
        }
        match self.call_tool(turn, tool, &params, Actor::Bot, json!("read")).await? {
            CallOutcome::Done { body, .. } => {
                state.results.insert(name.to_string(), body);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// The customer's messages of this segment, newest (this one) first.
    async fn customer_texts(&self, turn: &Turn, text: &str) -> Result<Vec<String>, EngineError> {
        let mut events = self.store().events(turn.state.id, turn.state.segment_start).await?;
        events.retain(|e| e.seq <= turn.base_seq);
        let mut texts = vec![text.to_string()];
        texts.extend(events.iter().rev().filter_map(|e| match &e.kind {
            EventKind::MessagePosted { author: Author::Customer, text, .. } => Some(text.clone()),
            _ => None,
        }));
        Ok(texts)
    }

    /// Run one call and record it, with who allowed it.
    pub(crate) async fn call_tool(
        &self,
        turn: &mut Turn,
        tool: &ToolDef,
        params: &Map<String, Value>,
        actor: Actor,
        allowed_by: Value,
    ) -> Result<CallOutcome, EngineError> {
        // TODO: a turn whose commit loses a race with another node is built
        // again from the top, so a write in it would be sent twice; keyed
        // writes are dropped by the backend, unkeyed ones are not. Rare on
        // one node (turns hold the conversation's lock), so acceptable now.
        let key = format!("{}-{}-{}", turn.state.id, tool.name, turn.state.last_seq + 1);
        let outcome = self.tool_client().call(tool, params, &key).await;
        let mut recorded = outcome.to_json();
        recorded["allowed_by"] = allowed_by;
        recorded["kind"] = json!(match tool.kind {
            ToolKind::Read => "read",
            ToolKind::Write => "write",
        });
        turn.push(
            actor,
            EventKind::ToolCalled {
                tool: tool.name.clone(),
                parameters: Value::Object(params.clone()),
                outcome: recorded,
                ok: outcome.ok(),
            },
        )?;
        Ok(outcome)
    }

    /// Successful calls of a tool before this one: how many in this
    /// conversation, how many for its customer, and how much of the tool's
    /// approval parameter the assistant let through on its own for the same
    /// target. The customer is the conversation's own and, once verified,
    /// the account: a conversation opened without an e-mail that verified
    /// the same account counts as theirs, so opening new conversations
    /// lifts no limit.
    async fn earlier_calls(
        &self,
        turn: &Turn,
        tool: &ToolDef,
        params: &Map<String, Value>,
        user: Option<&Value>,
    ) -> Result<EarlierCalls, EngineError> {
        let mut here: Vec<Event> = self
            .store()
            .events(turn.state.id, 0)
            .await?
            .into_iter()
            .filter(|e| e.seq <= turn.base_seq)
            .collect();
        here.extend(turn.new.iter().cloned());
        let mut earlier = EarlierCalls::default();
        earlier.add(tool, params, &here, Scope::Conversation);

        // TODO: the other conversations are read from the log of the last
        // CALL_WINDOW_DAYS on each write's guardrail check; a deployment with
        // a large log wants an index of tool calls by account instead.
        // The window is on the engine's clock, the one the events were
        // stamped with, not the machine's.
        let from = self.now() - chrono::Duration::days(CALL_WINDOW_DAYS);
        let mut others: BTreeMap<ConversationId, Vec<Event>> = BTreeMap::new();
        for event in self.store().events_between(Some(from), None).await? {
            if event.conversation_id != turn.state.id {
                others.entry(event.conversation_id).or_default().push(event);
            }
        }
        for (id, events) in others {
            let same_customer = match self.store().conversation(id).await? {
                Some(summary) => summary.customer_id == turn.state.customer_id,
                None => false,
            };
            let same_account = user.is_some_and(|user| {
                events.iter().any(|e| match &e.kind {
                    EventKind::Decided { action, detail, .. } if action == "flow" => {
                        detail["flow_state"]["customer"]["user_id"] == *user
                    }
                    _ => false,
                })
            });
            let scope =
                if same_customer || same_account { Scope::Customer } else { Scope::Elsewhere };
            earlier.add(tool, params, &events, scope);
        }
        Ok(earlier)
    }

    /// An agent approves or rejects a call waiting for approval, in one
    /// step; the customer is told the outcome.
    pub async fn decide_approval(
        &self,
        id: ConversationId,
        approval_id: &str,
        agent_id: AgentId,
        approve: bool,
    ) -> Result<Projection, EngineError> {
        let approval_id = approval_id.to_string();
        self.with_turn(id, move |engine, turn| {
            let approval_id = approval_id.clone();
            Box::pin(
                async move { engine.approval_turn(turn, &approval_id, agent_id, approve).await },
            )
        })
        .await
    }

    async fn approval_turn(
        &self,
        turn: &mut Turn,
        approval_id: &str,
        agent_id: AgentId,
        approve: bool,
    ) -> Result<(), EngineError> {
        let workspace = self.workspace();
        let mut state = self.flow_state(turn).await?;
        let (id, tool, parameters, step) = match state.pending.clone() {
            Some(Pending::Approval { id, tool, parameters, step }) if id == approval_id => {
                (id, tool, parameters, step)
            }
            _ => {
                let mut events = self.store().events(turn.state.id, 0).await?;
                events.retain(|e| e.seq <= turn.base_seq);
                return Err(not_waiting(&events, approval_id));
            }
        };
        if let Some(owner) = turn.state.assigned_agent.filter(|o| *o != agent_id) {
            return Err(EngineError::Forbidden(format!(
                "the conversation is assigned to agent {owner}"
            )));
        }
        let tool_def = workspace
            .actions
            .tool(&tool)
            .ok_or_else(|| EngineError::Conflict(format!("the tool `{tool}` no longer exists")))?;
        state.pending = None;
        let decision = if approve { APPROVAL_GRANTED } else { APPROVAL_REJECTED };
        turn.push(
            Actor::Agent(agent_id),
            EventKind::Decided {
                action: decision.into(),
                reason: format!(
                    "an agent {} the call to `{tool}`",
                    if approve { "approved" } else { "rejected" }
                ),
                detail: json!({"approval_id": id, "tool": tool, "parameters": parameters}),
            },
        )?;

        // The reply to the customer: the flow step's text on success.
        let reply = if approve {
            let allowed = json!({"agent": agent_id});
            let outcome = self
                .call_tool(turn, tool_def, &parameters, Actor::Agent(agent_id), allowed)
                .await?;
            match outcome {
                CallOutcome::Done { body, .. } => {
                    state.results.insert(tool.clone(), body);
                    let flow = state.flow.as_deref().and_then(|f| workspace.actions.flow(f));
                    let say = flow.and_then(|f| f.steps.get(step)).and_then(|s| s.say.as_deref());
                    match say {
                        Some(text) => render(text, &scope(workspace, &state))?,
                        None => "A colleague approved the request and it is done.".into(),
                    }
                }
                CallOutcome::Refused { message, .. } => render(
                    &workspace.actions.messages.refused,
                    &with_error(workspace, &state, &message),
                )?,
                CallOutcome::Failed { error, attempts, .. } => render(
                    failure_text(&workspace.actions.messages, tool_def, attempts),
                    &with_error(workspace, &state, &error),
                )?,
            }
        } else {
            render(&workspace.actions.messages.approval_rejected, &scope(workspace, &state))?
        };
        end(&mut state);

        // A queued conversation goes back to the AI, which tells the
        // customer; one the agent already owns gets the news as a system
        // message, since the AI does not speak while a person owns it.
        if turn.state.stage == Stage::Queued {
            turn.push(
                Actor::Agent(agent_id),
                EventKind::HandedBack { note: Some(decision.into()) },
            )?;
            turn.say(Author::Bot, reply, vec![])?;
        } else {
            turn.say(Author::System, reply, vec![])?;
        }
        turn.push(
            Actor::Bot,
            EventKind::Decided {
                action: "flow".into(),
                reason: format!("flow state after {decision}"),
                detail: json!({"flow_state": state}),
            },
        )?;
        Ok(())
    }
}

/// How far back the guardrails look for a customer's earlier calls in other
/// conversations.
const CALL_WINDOW_DAYS: i64 = 90;

/// Where an earlier call was made, seen from the call being checked.
#[derive(Clone, Copy, PartialEq)]
enum Scope {
    Conversation,
    Customer,
    Elsewhere,
}

/// A tool's successful calls before the one being checked.
#[derive(Default)]
struct EarlierCalls {
    /// In this conversation.
    here: u32,
    /// For this customer, this conversation included.
    theirs: u32,
    /// The sum of the approval parameter over the calls the assistant made
    /// on the customer's yes alone (no agent's approval) for the same target:
    /// the same values in the path (the same order), or the same customer
    /// for a tool whose path has none.
    approved_alone: f64,
}

impl EarlierCalls {
    fn add(&mut self, tool: &ToolDef, params: &Map<String, Value>, events: &[Event], scope: Scope) {
        let targets = crate::workspace::path_placeholders(&tool.path);
        for event in events {
            let EventKind::ToolCalled { tool: name, parameters, outcome, ok: true } = &event.kind
            else {
                continue;
            };
            if name != &tool.name {
                continue;
            }
            match scope {
                Scope::Conversation => {
                    self.here += 1;
                    self.theirs += 1;
                }
                Scope::Customer => self.theirs += 1,
                Scope::Elsewhere => {}
            }
            let same_target = if targets.is_empty() {
                scope != Scope::Elsewhere
            } else {
                targets.iter().all(|t| {
                    let key =
                        |v: Option<&Value>| v.map(|v| plain(v).trim_start_matches('#').to_string());
                    key(parameters.get(*t)) == key(params.get(*t))
                })
            };
            let alone = outcome["allowed_by"] == json!("customer_confirmation");
            if let (true, true, Some(limit)) = (same_target, alone, &tool.approval) {
                self.approved_alone +=
                    parameters.get(&limit.param).and_then(guardrails::number).unwrap_or(0.0);
            }
        }
    }
}

/// A tool the agent can run, with the parameters the conversation already
/// gives it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SuggestedAction {
    pub tool: String,
    pub description: String,
    pub kind: &'static str,
    /// The parameters filled from the conversation's slots, the verified
    /// customer and earlier results; the missing ones are left out.
    pub parameters: Map<String, Value>,
    /// Why it cannot run as it is, if it cannot.
    pub blocked: Option<String>,
}

/// What an agent's own call came to.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentCall {
    pub tool: String,
    pub parameters: Map<String, Value>,
    pub ok: bool,
    pub outcome: Value,
}

impl Engine {
    /// The tools an agent can run on a conversation, with their parameters
    /// filled in from what the conversation knows.
    pub async fn suggested_actions(
        &self,
        id: ConversationId,
    ) -> Result<Vec<SuggestedAction>, EngineError> {
        let events = self.events(id, 0).await?;
        let state = latest_state(&events);
        let workspace = self.workspace();
        let scope = scope(workspace, &state);
        Ok(workspace
            .actions
            .tools
            .iter()
            .map(|tool| {
                let parameters = filled(tool, &scope);
                let blocked = match guardrails::validate(tool, &parameters) {
                    Err(why) => Some(why),
                    Ok(()) if tool.requires_verified_customer && state.customer.is_none() => {
                        Some("the customer is not verified".into())
                    }
                    Ok(()) => None,
                };
                SuggestedAction {
                    tool: tool.name.clone(),
                    description: tool.description.clone(),
                    kind: if tool.kind == ToolKind::Read { "read" } else { "write" },
                    parameters,
                    blocked,
                }
            })
            .collect())
    }

    /// An agent who owns a conversation runs a tool, under the same rules
    /// as the AI: checked parameters, a verified customer where the tool
    /// needs one, the rate limits. The agent's own decision stands in for
    /// the customer's yes and for an approval, and is recorded as such.
    pub async fn agent_tool_call(
        &self,
        id: ConversationId,
        agent_id: AgentId,
        tool: &str,
        parameters: Option<Map<String, Value>>,
    ) -> Result<AgentCall, EngineError> {
        let tool_name = tool.to_string();
        let result = Arc::new(Mutex::new(None));
        let slot = result.clone();
        self.with_turn(id, move |engine, turn| {
            let tool_name = tool_name.clone();
            let parameters = parameters.clone();
            let slot = slot.clone();
            Box::pin(async move {
                let call = engine.agent_call_turn(turn, agent_id, &tool_name, parameters).await?;
                *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(call);
                Ok(())
            })
        })
        .await?;
        let call = result.lock().unwrap_or_else(|e| e.into_inner()).take();
        call.ok_or_else(|| EngineError::Conflict("the call did not run; retry".into()))
    }

    async fn agent_call_turn(
        &self,
        turn: &mut Turn,
        agent_id: AgentId,
        tool_name: &str,
        given: Option<Map<String, Value>>,
    ) -> Result<AgentCall, EngineError> {
        let workspace = self.workspace();
        if turn.state.stage != Stage::Human || turn.state.assigned_agent != Some(agent_id) {
            return Err(EngineError::Forbidden(
                "take the conversation before running tools on it".into(),
            ));
        }
        let tool = workspace
            .actions
            .tool(tool_name)
            .ok_or_else(|| EngineError::Invalid(format!("there is no tool `{tool_name}`")))?;
        let state = self.flow_state(turn).await?;
        let parameters = match given {
            Some(p) => p,
            None => filled(tool, &scope(workspace, &state)),
        };
        guardrails::validate(tool, &parameters).map_err(EngineError::Invalid)?;
        if tool.requires_verified_customer && state.customer.is_none() {
            return Err(EngineError::Conflict(format!(
                "`{tool_name}` needs a verified customer; the customer has not been verified"
            )));
        }
        // The customer a verified conversation is about is the only one its
        // tools may touch: a user id given by hand must be theirs.
        if let (Some(customer), Some(user)) = (&state.customer, parameters.get("user_id")) {
            if &customer["user_id"] != user {
                return Err(EngineError::Forbidden(
                    "the user id is not the verified customer's".into(),
                ));
            }
        }
        let user = state.customer.as_ref().map(|c| c["user_id"].clone());
        let earlier = self.earlier_calls(turn, tool, &parameters, user.as_ref()).await?;
        if let Some(why) = guardrails::rate_limited(tool, earlier.here, earlier.theirs) {
            return Err(EngineError::Conflict(why));
        }
        let mut allowed = json!({"agent": agent_id});
        if let Some(policy) = guardrails::approval_needed(tool, &parameters) {
            allowed["over_limit"] = json!(policy);
        }
        let outcome =
            self.call_tool(turn, tool, &parameters, Actor::Agent(agent_id), allowed).await?;
        let recorded = match turn.new.last().map(|e| &e.kind) {
            Some(EventKind::ToolCalled { outcome, .. }) => outcome.clone(),
            _ => outcome.to_json(),
        };
        Ok(AgentCall { tool: tool_name.into(), parameters, ok: outcome.ok(), outcome: recorded })
    }
}

/// A tool's parameters from the scope, without checking them.
pub(crate) fn filled(tool: &ToolDef, scope: &Value) -> Map<String, Value> {
    let mut params = Map::new();
    for (name, def) in &tool.params {
        let value = match def.from.strip_prefix('\'').and_then(|f| f.strip_suffix('\'')) {
            Some(literal) => Some(json!(literal)),
            None => resolve(scope, &def.from),
        };
        let value = match (value, def.ty) {
            (Some(Value::Array(mut a)), ty) if ty != ParamType::List && a.len() == 1 => a.pop(),
            (Some(Value::String(s)), ParamType::List) => Some(json!([s])),
            (Some(v), ParamType::Number) => Some(guardrails::number(&v).map_or(v, |n| json!(n))),
            (other, _) => other,
        };
        if let Some(value) = value.filter(|v| !v.is_null()) {
            params.insert(name.clone(), value);
        }
    }
    params
}

/// The slot whose value filters a lookup to nothing for a parameter the
/// tool needs: `get_order.items[name=item].item_id` with an `item` the
/// order does not have.
fn unmatched_slot<'a>(
    flow: &'a FlowDef,
    tool: &ToolDef,
    state: &FlowState,
    workspace: &Workspace,
) -> Option<&'a SlotDef> {
    let values = scope(workspace, state);
    let empty = |v: Option<Value>| match v {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    };
    tool.params.values().filter(|def| !def.optional && empty(resolve(&values, &def.from))).find_map(
        |def| {
            flow.slots.iter().find(|slot| {
                state.slots.contains_key(&slot.name)
                    && def.from.contains(&format!("={}]", slot.name))
            })
        },
    )
}

/// What to tell the customer about a failed call: a write whose request
/// went out (an attempt was made) may have been done by the backend even
/// though no good answer came back, so it is not told as nothing changed.
fn failure_text<'a>(messages: &'a ActionMessages, tool: &ToolDef, attempts: u32) -> &'a str {
    if tool.kind == ToolKind::Write && attempts > 0 {
        &messages.unconfirmed
    } else {
        &messages.failed
    }
}

/// Why an approval is not waiting, read from the conversation's log: a
/// person decided it already, or the flow that held it moved on (both a
/// conflict with the conversation's state), or the conversation never held
/// it (a wrong id).
fn not_waiting(events: &[Event], approval_id: &str) -> EngineError {
    let mut held = false;
    for event in events {
        let EventKind::Decided { action, detail, .. } = &event.kind else {
            continue;
        };
        let decision = match action.as_str() {
            APPROVAL_GRANTED => "approved",
            APPROVAL_REJECTED => "rejected",
            "flow" => {
                let pending = &detail["flow_state"]["pending"];
                held |= pending["kind"] == "approval" && pending["id"] == approval_id;
                continue;
            }
            _ => continue,
        };
        if detail["approval_id"] == approval_id {
            return EngineError::Conflict(format!(
                "approval `{approval_id}` is already decided: it was {decision}"
            ));
        }
    }
    if held {
        EngineError::Conflict(format!(
            "approval `{approval_id}` is no longer waiting in this conversation"
        ))
    } else {
        EngineError::Missing(format!("no approval `{approval_id}` in this conversation"))
    }
}

/// The flow state of the last flow turn in a log.
pub fn latest_state(events: &[Event]) -> FlowState {
    events
        .iter()
        .rev()
        .find_map(|e| match &e.kind {
            EventKind::Decided { action, detail, .. } if action == "flow" => {
                serde_json::from_value(detail["flow_state"].clone()).ok()
            }
            _ => None,
        })
        .unwrap_or_default()
}

fn restart(state: &mut FlowState, flow: &FlowDef) {
    end(state);
    state.flow = Some(flow.intent.clone());
}

/// Forget the flow, keep who the customer is.
fn end(state: &mut FlowState) {
    state.flow = None;
    state.slots.clear();
    state.results.clear();
    state.each.clear();
    if matches!(state.pending, Some(Pending::Confirmation { .. })) {
        state.pending = None;
    }
}

/// After a slot changed: what was looked up for the old value no longer
/// holds, a summary waiting for a yes is void, and the slots picked from a
/// list after the changed one are picked again.
fn forget_after_change(flow: &FlowDef, state: &mut FlowState, before: &Map<String, Value>) {
    state.results.clear();
    if matches!(state.pending, Some(Pending::Confirmation { .. })) {
        state.pending = None;
    }
    let changed = |name: &str| state.slots.get(name) != before.get(name);
    let Some(first) = flow.slots.iter().position(|s| changed(&s.name)) else { return };
    let stale: Vec<String> = flow.slots[first + 1..]
        .iter()
        .filter(|s| s.among.is_some() && !changed(&s.name))
        .map(|s| s.name.clone())
        .collect();
    for name in stale {
        state.slots.remove(&name);
        state.each.remove(&name);
    }
}

/// Whether a message speaks of a slot by a word of its name ("the order
/// ID" for `order_id`).
fn mentions(slot: &str, text: &str) -> bool {
    let lower = text.to_lowercase();
    slot.split('_').filter(|w| w.len() >= 3).any(|w| lower.contains(w))
}

/// Whether the flow still waits for a slot it picks from a list it can
/// read for the customer (their orders, an order's items).
fn waits_for_pick(flow: &FlowDef, state: &FlowState) -> bool {
    flow.slots.iter().any(|s| s.among.is_some() && !state.slots.contains_key(&s.name))
}

/// Whether a message asks for an intent in words of its own: it says a
/// word of that intent's examples that no other flow's intent has (a
/// "return", a "tracking" number), and none that only the active flow's
/// intent has. An answer that the model reads as another request ("the
/// order ID is 9502127") names neither and leaves the active flow as it is.
fn asks_for(workspace: &Workspace, new: &str, old: &str, text: &str) -> bool {
    let said = pick::words(text);
    !said.is_disjoint(&specific_words(workspace, new))
        && said.is_disjoint(&specific_words(workspace, old))
}

/// "Yes, that's my e-mail" to the question whether the conversation's
/// e-mail is the customer's: a yes said at length. Only that question; a
/// summary's yes at length is read by `go_ahead`, which also checks that
/// it names nothing else.
fn yes_at_length(state: &FlowState, text: &str) -> bool {
    matches!(state.pending, Some(Pending::Identity { .. })) && pick::says_yes(text)
}

/// Whether a message names the request of a flow other than `active`.
fn names_other_request(workspace: &Workspace, active: &str, text: &str) -> bool {
    let said = pick::words(text);
    workspace
        .actions
        .flows
        .iter()
        .filter(|f| f.intent != active)
        .any(|f| !said.is_disjoint(&specific_words(workspace, &f.intent)))
}

/// The words of an intent's examples that no other flow's intent has.
fn specific_words(workspace: &Workspace, intent: &str) -> BTreeSet<String> {
    let of = |name: &str| -> BTreeSet<String> {
        let examples = workspace.intent(name).map(|i| i.examples.as_slice()).unwrap_or(&[]);
        examples.iter().flat_map(|e| pick::words(e)).collect()
    };
    let mut own = of(intent);
    for flow in workspace.actions.flows.iter().filter(|f| f.intent != intent) {
        let theirs = of(&flow.intent);
        own.retain(|w| !theirs.contains(w));
    }
    own
}

/// Whether a message asks about something rather than asks for something:
/// it opens with a question word, or ends with a question mark without
/// opening like a polite request ("could you cancel it instead?").
fn is_question(text: &str) -> bool {
    const ASKING: [&str; 10] =
        ["what", "how", "why", "when", "which", "where", "who", "is", "are", "does"];
    const REQUESTING: [&str; 5] = ["can", "could", "would", "will", "please"];
    let first = text.split_whitespace().next().unwrap_or("").to_lowercase();
    let first = first.trim_matches(|c: char| !c.is_alphanumeric());
    ASKING.contains(&first) || text.trim_end().ends_with('?') && !REQUESTING.contains(&first)
}

/// Whether the message gives a value for any slot of the flow.
fn fills_any(flow: &FlowDef, analysis: &Analysis, text: &str) -> bool {
    let mut scratch = Map::new();
    let picked = flow.slots.iter().any(|s| s.among.is_some());
    fill_slots(flow, &mut scratch, analysis, text)
        || analysis.entities_of(EntityKind::Email).next().is_some()
        || name_and_zip(text).is_some()
        || picked && (pick::says_other(text) || pick::says_latest(text))
}

/// Whether the message picks an entry for a slot still missing, from the
/// lists the flow has read ("the desk lamp", "the original card").
fn picks_any(workspace: &Workspace, flow: &FlowDef, state: &FlowState, text: &str) -> bool {
    let values = scope(workspace, state);
    flow.slots.iter().filter(|s| !state.slots.contains_key(&s.name)).any(|slot| {
        let Some(among) = &slot.among else { return false };
        // A slot picked per entry reads the list of the entry asked about.
        let entry = state.each.get(&slot.name).and_then(|p| Some((p, p.asking?)));
        let values = match entry {
            Some((progress, i)) => entry_scope(&values, slot, progress, i),
            None => values.clone(),
        };
        let entries = pick::entries(resolve(&values, among));
        let named =
            slot.matches.as_deref().is_some_and(|m| !pick::named(m, &entries, text).is_empty());
        named || slot.original.is_some() && pick::says_original(text)
    })
}

/// Fill the flow's slots from one message; true when a value was set or
/// changed.
pub fn fill_slots(
    flow: &FlowDef,
    slots: &mut Map<String, Value>,
    analysis: &Analysis,
    text: &str,
) -> bool {
    let mut changed = false;
    for slot in &flow.slots {
        if let Some(value) = slot_value(slot, analysis, text) {
            if slots.get(&slot.name) != Some(&value) {
                slots.insert(slot.name.clone(), value);
                changed = true;
            }
        }
    }
    changed
}

fn slot_value(slot: &SlotDef, analysis: &Analysis, text: &str) -> Option<Value> {
    if let Some(kind) = &slot.entity {
        let found = analysis.entities.iter().find(|e| e.kind.as_str() == kind);
        if let Some(entity) = found {
            return Some(json!(entity.value));
        }
    }
    if !slot.choices.is_empty() {
        let lower = text.to_lowercase();
        for (canonical, words) in &slot.choices {
            if lower.contains(&canonical.to_lowercase())
                || words.iter().any(|w| lower.contains(&w.to_lowercase()))
            {
                return Some(json!(canonical));
            }
        }
    }
    if let Some(pattern) = &slot.pattern {
        let re = regex::Regex::new(pattern).ok()?;
        let caps = re.captures(text)?;
        let names: Vec<&str> = re.capture_names().flatten().collect();
        if names.is_empty() {
            return Some(json!(caps.get(0)?.as_str().trim()));
        }
        let fields: Map<String, Value> = names
            .iter()
            .map(|n| {
                let v = caps.name(n).map(|m| m.as_str().trim()).unwrap_or("");
                (n.to_string(), json!(v))
            })
            .collect();
        return Some(Value::Object(fields));
    }
    None
}

/// A five-digit zip code.
static ZIP: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"\b\d{5}\b").expect("a valid pattern"));

/// The first zip code of a message.
fn zip_in(text: &str) -> Option<String> {
    ZIP.find(text).map(|m| m.as_str().to_string())
}

/// A first name, last name and five-digit zip code in a message ("I'm Jonah
/// Bellweather, zip 43215").
// TODO: names are taken as the first two words that are not common filler;
// a customer who writes "my zip is 43215 and I am Jonah Bellweather" works,
// one who writes a middle name does not. Good enough for the demo stores.
pub fn name_and_zip(text: &str) -> Option<(String, String, String)> {
    let zip_re = regex::Regex::new(r"\b(\d{5})\b").ok()?;
    let zip = zip_re.captures(text)?.get(1)?.as_str().to_string();
    const FILLER: &[&str] = &[
        "i", "i'm", "im", "am", "my", "name", "is", "and", "zip", "code", "the", "it's", "its",
        "hi", "hello", "hey", "postcode", "postal", "live", "in", "at", "this", "here", "sure",
        "yes", "ok", "okay", "thanks", "please", "of", "with", "me", "a", "first", "last",
    ];
    // The words after "my name is" / "I'm" when the message has them, so
    // that "Of course! My name is Jonah Bellweather" skips "Of course".
    let lower = text.to_lowercase();
    let from = ["name is ", "i'm ", "i am ", "this is "]
        .iter()
        .filter_map(|m| lower.find(m).map(|at| at + m.len()))
        .min()
        .filter(|at| text.is_char_boundary(*at))
        .unwrap_or(0);
    let words: Vec<&str> = text[from..]
        .split(|c: char| !(c.is_alphabetic() || c == '-' || c == '\''))
        .filter(|w| !w.is_empty())
        .filter(|w| !FILLER.contains(&w.to_lowercase().as_str()))
        .collect();
    match words.as_slice() {
        [first, last, ..] => Some((first.to_string(), last.to_string(), zip)),
        _ => None,
    }
}

/// Everything a reference can reach in this state.
pub(crate) fn scope(workspace: &Workspace, state: &FlowState) -> Value {
    let mut scope = Map::new();
    scope.insert("bot_name".into(), json!(workspace.settings.workspace.bot_name));
    scope.insert("company".into(), json!(workspace.settings.workspace.company));
    scope.extend(state.slots.clone());
    scope.extend(state.results.clone());
    if let Some(customer) = &state.customer {
        scope.insert("customer".into(), customer.clone());
    }
    let mut scope = Value::Object(scope);
    let flow = state.flow.as_deref().and_then(|f| workspace.actions.flow(f));
    let lines = flow.map(|f| lines(f, state, &scope)).unwrap_or_default();
    if !lines.is_empty() {
        scope["lines"] = Value::Object(lines);
    }
    scope
}

/// The scope of one entry of a slot picked per entry: the entry under the
/// slot's `as` name, the lookup's answer for it, and the value picked for
/// it under the slot's own name.
fn entry_scope(base: &Value, slot: &SlotDef, progress: &EachPick, i: usize) -> Value {
    let mut values = base.clone();
    if let (Some(name), Some(entry)) = (&slot.each_as, progress.entries.get(i)) {
        values[name.as_str()] = entry.clone();
    }
    if let Some(answer) = slot.lookup.as_ref().zip(progress.looked_up.get(i)) {
        if !answer.1.is_null() {
            values[answer.0.as_str()] = answer.1.clone();
        }
    }
    match progress.picked.get(i).filter(|v| !v.is_null()) {
        Some(picked) => values[slot.name.as_str()] = picked.clone(),
        None => {
            if let Value::Object(fields) = &mut values {
                fields.remove(&slot.name);
            }
        }
    }
    values
}

/// The `lines` of the flow's slots picked per entry, said once per entry
/// and joined (`lines.SLOT.NAME`), for the slots that have every value.
fn lines(flow: &FlowDef, state: &FlowState, base: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    for slot in flow.slots.iter().filter(|s| !s.lines.is_empty()) {
        let Some(progress) = state.each.get(&slot.name) else { continue };
        if !state.slots.contains_key(&slot.name) {
            continue;
        }
        let mut texts = Map::new();
        for (name, text) in &slot.lines {
            let said: Result<Vec<String>, _> = (0..progress.entries.len())
                .map(|i| render(text, &entry_scope(base, slot, progress, i)))
                .collect();
            if let Ok(said) = said {
                texts.insert(name.clone(), json!(pick::join_lines(&said)));
            }
        }
        out.insert(slot.name.clone(), Value::Object(texts));
    }
    out
}

fn with_value(workspace: &Workspace, state: &FlowState, key: &str, value: &str) -> Value {
    let mut scope = scope(workspace, state);
    scope[key] = json!(value);
    scope
}

fn with_error(workspace: &Workspace, state: &FlowState, error: &str) -> Value {
    with_value(workspace, state, "error", error)
}

/// A tool's parameters from the scope; an unknown value is left out, and
/// the check says which one is missing.
fn parameters(tool: &ToolDef, scope: &Value) -> Result<Map<String, Value>, String> {
    let params = filled(tool, scope);
    guardrails::validate(tool, &params)?;
    Ok(params)
}

/// The value at a reference: dotted keys, `list[]` to map over a list,
/// `list[field=ref]` to keep the entries whose field equals a value.
pub fn resolve(scope: &Value, reference: &str) -> Option<Value> {
    let mut current = vec![scope.clone()];
    let mut mapped = false;
    for part in reference.split('.') {
        let (key, filter) = match part.split_once('[') {
            Some((key, rest)) => (key, Some(rest.trim_end_matches(']'))),
            None => (part, None),
        };
        let mut next = Vec::new();
        for value in &current {
            let Some(child) = value.get(key) else { continue };
            match filter {
                None => next.push(child.clone()),
                Some("") => next.extend(pick::entries(Some(child.clone()))),
                Some(condition) => {
                    let (field, wanted) = condition.split_once('=')?;
                    // A list wanted keeps the entries equal to any of it.
                    let wanted = match resolve(scope, wanted).unwrap_or(json!(wanted)) {
                        Value::Array(list) => list,
                        one => vec![one],
                    };
                    let same =
                        |v: &Value| wanted.iter().any(|w| plain(v).eq_ignore_ascii_case(&plain(w)));
                    next.extend(
                        pick::entries(Some(child.clone()))
                            .into_iter()
                            .filter(|e| e.get(field).is_some_and(same)),
                    );
                }
            }
            if filter.is_some() {
                mapped = true;
            }
        }
        current = next;
    }
    match (mapped, current.len()) {
        (false, 1) => current.pop(),
        (false, _) => None,
        (true, 0) => None,
        (true, _) => Some(Value::Array(current)),
    }
}

/// A value as the customer reads it: text as is, money with two decimals,
/// lists joined with commas.
pub fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => format!("{:.2}", n.as_f64().unwrap_or(0.0)),
        Value::Number(n) => n.to_string(),
        Value::Array(items) if items.iter().any(Value::is_object) => {
            items.iter().map(plain).collect::<Vec<_>>().join("; ")
        }
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        // An object reads as its fields ("color: blue, size: M").
        Value::Object(fields) => {
            fields.iter().map(|(k, v)| format!("{k}: {}", plain(v))).collect::<Vec<_>>().join(", ")
        }
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A flow text with its `{reference}` placeholders filled. A reference with
/// no value is an error, never an empty hole in what the customer reads.
pub fn render(text: &str, scope: &Value) -> Result<String, EngineError> {
    use crate::workspace::templates as piece;
    let pieces = piece::reference_pieces(text)
        .map_err(|m| EngineError::Invalid(format!("a flow text is malformed: {m}")))?;
    let mut out = String::new();
    for p in pieces {
        match p {
            piece::Piece::Text(t) => out.push_str(t),
            piece::Piece::Brace(c) => out.push(c),
            piece::Piece::Placeholder(name) => {
                let value = resolve(scope, name).ok_or_else(|| {
                    EngineError::Template(crate::workspace::WorkspaceError::MissingValue {
                        template: "flow text".into(),
                        placeholder: name.to_string(),
                    })
                })?;
                out.push_str(&plain(&value));
            }
        }
    }
    Ok(out)
}

/// Whether every value a condition compares is known. One that is not is
/// not decided yet: a missing value would make `!=` hold.
pub fn decidable(condition: &str, scope: &Value) -> bool {
    let Ok(c) = parse_condition(condition) else { return false };
    let known = |o: &Operand| match o {
        Operand::Reference(r) => resolve(scope, r).is_some(),
        _ => true,
    };
    known(&c.left) && known(&c.right)
}

/// Whether a step's condition holds; a reference with no value makes an
/// equality false and an inequality true.
pub fn holds(condition: &str, scope: &Value) -> bool {
    let Ok(c) = parse_condition(condition) else { return false };
    let value = |o: &Operand| match o {
        Operand::Reference(r) => resolve(scope, r),
        Operand::Text(t) => Some(json!(t)),
        Operand::Number(n) => Some(json!(n)),
    };
    let (left, right) = (value(&c.left), value(&c.right));
    match c.op {
        Op::Eq => left.is_some() && left.as_ref().map(plain) == right.as_ref().map(plain),
        Op::Ne => left.is_none() || left.as_ref().map(plain) != right.as_ref().map(plain),
        Op::Gt | Op::Lt => {
            let l = left.as_ref().and_then(guardrails::number);
            let r = right.as_ref().and_then(guardrails::number);
            match (l, r) {
                (Some(l), Some(r)) if c.op == Op::Gt => l > r,
                (Some(l), Some(r)) => l < r,
                _ => false,
            }
        }
    }
}

mod pick;

#[cfg(test)]
mod tests;
