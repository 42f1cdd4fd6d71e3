//! `tools.toml` and `flows.toml`: the company's systems the AI may call,
//! the rules each call is held to, and the declarative flows that collect
//! what a call needs and say what came of it.
//!
//! A reference (in a parameter's `from`, a step's `when` and a reply's
//! `{placeholder}`) is a dotted path whose first part is a slot of the
//! flow, `customer` (the verified customer: `customer.user_id` and the
//! fields of the identity tool's details), or a tool the flow called before
//! (`get_order.status`). `items[]` maps over a list, `items[name=item]`
//! keeps the entries whose `name` equals the slot `item`.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::source::{Problem, Source};

/// Whether a tool reads or changes the company's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolKind {
    Read,
    Write,
}

/// The type a parameter's value is checked against before a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    String,
    Number,
    Email,
    /// A list of strings.
    List,
    /// A JSON object (an address, say).
    Object,
}

/// Where the HTTP tools are served, and the secret they are called with.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    /// The base URL tool paths are appended to.
    #[serde(default)]
    pub base_url: Option<String>,
    /// An environment variable that, when set, overrides `base_url`.
    #[serde(default)]
    pub base_url_env: Option<String>,
    /// How long one attempt may take.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// The environment variable holding the API key, sent as a bearer
    /// token. The key itself never sits in a file, a log or an event.
    #[serde(default)]
    pub secret_env: Option<String>,
}

fn default_timeout() -> u64 {
    3000
}

/// One parameter of a tool.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamDef {
    #[serde(rename = "type")]
    pub ty: ParamType,
    /// The reference the value is taken from.
    pub from: String,
    /// A regular expression a string value must match in full.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Values allowed, when the set is closed.
    #[serde(default)]
    pub choices: Vec<String>,
    /// A parameter left out of the call when it has no value.
    #[serde(default)]
    pub optional: bool,
}

/// Above this value of a parameter, a person approves the call.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalLimit {
    pub param: String,
    pub above: f64,
}

/// A call the AI may make, with its rules.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolDef {
    pub name: String,
    pub description: String,
    pub kind: ToolKind,
    /// GET, POST, PUT, PATCH or DELETE.
    pub method: String,
    /// Appended to the base URL; `{param}` is replaced by the parameter,
    /// URL-encoded. Other parameters go in the query (GET) or JSON body.
    pub path: String,
    #[serde(default)]
    pub params: BTreeMap<String, ParamDef>,
    /// A write with a key can be retried: the backend drops a repeat.
    #[serde(default)]
    pub idempotency_key: bool,
    /// Extra attempts after a timeout, a 5xx or a malformed answer, for a
    /// read or a write with an idempotency key.
    #[serde(default = "default_retries")]
    pub retries: u32,
    #[serde(default)]
    pub requires_verified_customer: bool,
    #[serde(default)]
    pub requires_confirmation: bool,
    /// The summary the customer says yes to; placeholders are references.
    #[serde(default)]
    pub confirm: Option<String>,
    #[serde(default)]
    pub approval: Option<ApprovalLimit>,
    #[serde(default)]
    pub max_per_conversation: Option<u32>,
    #[serde(default)]
    pub max_per_customer: Option<u32>,
}

fn default_retries() -> u32 {
    1
}

/// How the customer proves who they are: an e-mail address, or a name with
/// a zip code, each matched by a `read` tool that answers a user id.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityDef {
    pub question: String,
    /// A tool with an `email` parameter from `slot.email`.
    pub by_email: Option<String>,
    /// A tool with `first_name`, `last_name` and `zip` from those slots.
    pub by_name_zip: Option<String>,
    /// Where the user id is in the lookup's answer.
    #[serde(default = "default_user_id")]
    pub user_id: String,
    /// A tool with a `user_id` parameter from `customer.user_id`, whose
    /// answer becomes the rest of `customer`.
    pub details: Option<String>,
    pub not_found: String,
    /// Channels that sign customers in before the conversation starts (a
    /// web widget behind the shop's login, say). There, an e-mail given
    /// when the conversation was created counts as verified: it is matched
    /// by `by_email` without asking. On any other channel it is only a
    /// claim: the customer is asked to confirm it first (`confirm_email`).
    #[serde(default)]
    pub authenticated_channels: Vec<String>,
    /// The yes-or-no question for an e-mail given at the start on a channel
    /// that does not sign customers in (`{email}`).
    #[serde(default = "default_confirm_email")]
    pub confirm_email: String,
}

fn default_user_id() -> String {
    "user_id".into()
}

fn default_confirm_email() -> String {
    "Before I look at your account: is {email} the e-mail address on it?".into()
}

/// One piece of information a flow collects.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotDef {
    pub name: String,
    pub question: String,
    /// An entity kind that fills the slot: order_number, email, money,
    /// product, date, phone.
    #[serde(default)]
    pub entity: Option<String>,
    /// Canonical values with the words that mean each.
    #[serde(default)]
    pub choices: BTreeMap<String, Vec<String>>,
    /// A regular expression over the message; named groups become the
    /// slot's fields (`address.city`), else the whole match is the value.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Not asked for; left empty when the customer does not say it.
    #[serde(default)]
    pub optional: bool,
    /// A reference to a list the value is picked from once the customer is
    /// verified (`customer.orders`, `list_orders.orders[status=delivered]`):
    /// by the words of `match`, by "my last/recent one", by "the other one",
    /// or as the only entry. A map's values count as its entries.
    #[serde(default)]
    pub among: Option<String>,
    /// A read tool called (once, when its parameters are known) before
    /// `among` is read; its answer is named by the tool, as in a step.
    #[serde(default)]
    pub lookup: Option<String>,
    /// The field of an entry that becomes the value; the entry itself when
    /// absent.
    #[serde(default)]
    pub value: Option<String>,
    /// The field(s) of an entry whose words, said by the customer, pick it
    /// (`items[].name`, `options`, `source, brand`).
    #[serde(default, rename = "match")]
    pub matches: Option<String>,
    /// The value is the list of every entry the customer names.
    #[serde(default)]
    pub many: bool,
    /// A reference picked when the customer says "the original" or "the
    /// same" (the payment method an order was paid with, say).
    #[serde(default)]
    pub original: Option<String>,
    /// The only entry of the list is not taken unless the customer names
    /// it (a payment method, say, where silence is no choice).
    #[serde(default)]
    pub always_ask: bool,
    /// The slot is picked and asked for only while this condition holds
    /// (`get_order.user_id == customer.user_id`: never list the items of
    /// someone else's order); otherwise the steps run and decide.
    #[serde(default)]
    pub when: Option<String>,
    /// A slot picked once for every entry of an earlier `many` slot, in its
    /// order: the new variant of each item to exchange, say. Its value is
    /// the list of what was picked, as long as that slot's and in the same
    /// order. `lookup`, `among`, `when` and `question` are read once per
    /// entry, with the entry under the name `as`.
    #[serde(default)]
    pub each: Option<String>,
    /// The name of the entry of `each` while this slot is picked for it.
    #[serde(default, rename = "as")]
    pub each_as: Option<String>,
    /// Texts said once per entry of `each` and joined for a summary
    /// (`{lines.SLOT.NAME}`): in them, `as` is the entry, the slot's own
    /// name the value picked for it, and the lookup that entry's answer.
    #[serde(default)]
    pub lines: BTreeMap<String, String>,
    /// A wider list than `among` that the customer may name entries of (all
    /// of their orders' items, say), read with the same `match`: an entry
    /// named there and not in `among` is not picked, and `not_in_list` is
    /// said with it.
    #[serde(default)]
    pub wider: Option<String>,
    /// What is said when the customer names an entry of `wider` that is not
    /// in `among` (`{named}`: what they named), before the slot's question.
    #[serde(default)]
    pub not_in_list: Option<String>,
}

/// One step of a flow: a condition, then a call and/or a reply.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    /// `REF == 'text'`, `REF != REF`, `REF > 250`, `REF < 10`; the step is
    /// skipped when false.
    #[serde(default)]
    pub when: Option<String>,
    #[serde(default)]
    pub call: Option<String>,
    #[serde(default)]
    pub say: Option<String>,
    /// The flow ends after this step.
    #[serde(default)]
    pub stop: bool,
}

/// A flow: what an intent needs and does.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowDef {
    pub intent: String,
    /// Verify the customer before anything else.
    #[serde(default)]
    pub verify: bool,
    #[serde(default, rename = "slot")]
    pub slots: Vec<SlotDef>,
    #[serde(default, rename = "step")]
    pub steps: Vec<StepDef>,
}

/// What the AI says when a guardrail or a failure stops a flow. Every text
/// has a default, so that a workspace needs to set only what it rewords.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActionMessages {
    /// After a "no" to a confirmation.
    pub declined: String,
    /// A call failed for a reason the customer cannot fix (`{error}`).
    pub failed: String,
    /// A write whose request went out but whose answer never came back
    /// right (`{error}`): it may have been done, so nothing is promised.
    pub unconfirmed: String,
    /// The backend refused the call and said why (`{error}`).
    pub refused: String,
    /// A rate limit was reached (`{tool}`).
    pub rate_limited: String,
    /// The call waits for a person (`{policy}`).
    pub approval_pending: String,
    /// A person rejected the call.
    pub approval_rejected: String,
    /// A value the customer gave does not fit (`{error}`).
    pub invalid: String,
    /// A change that waited for the customer's yes is dropped for a new
    /// request (`{abandoned}`: the label of its intent).
    pub abandoned: String,
    /// The customer does not have the value a slot asks for: the entries it
    /// is picked from (`{options}`), for them to say which.
    pub listed: String,
    /// The same, when the list has no entry that fits.
    pub none_listed: String,
    /// The customer named entries a slot's list lacks (`{named}`), when
    /// the slot has no `not_in_list` of its own.
    pub not_in_list: String,
}

impl Default for ActionMessages {
    fn default() -> Self {
        ActionMessages {
            declined: "Okay, I haven't changed anything.".into(),
            failed: "Sorry, I couldn't complete that: {error}. Nothing has been changed. \
                     Would you like me to pass you to a colleague?"
                .into(),
            unconfirmed: "Sorry, I couldn't confirm that: {error}. It may or may not have gone \
                          through, so please don't try again yet. Would you like me to pass \
                          you to a colleague, who can check?"
                .into(),
            refused: "I couldn't do that: {error}.".into(),
            // A limit per customer stops a first request in a new
            // conversation too, so the text names no conversation.
            rate_limited: "I can't do that again: it has already been done as many times as \
                           I'm allowed to. A colleague can help if you need more."
                .into(),
            approval_pending: "This needs a colleague's approval ({policy}). I've passed it \
                               on with all the details, and I'll let you know the outcome here."
                .into(),
            approval_rejected: "A colleague reviewed the request and could not approve it, so \
                                nothing has been changed."
                .into(),
            invalid: "{error} Could you check and send it again?".into(),
            abandoned: "Okay, I won't go ahead with {abandoned}: nothing was changed there.".into(),
            listed: "No problem, I've looked them up: {options}. Which one is it?".into(),
            none_listed: "I've looked, and there is none on your account that this can be \
                          done for."
                .into(),
            not_in_list: "I can't find the {named} there.".into(),
        }
    }
}

/// Everything the two files say, checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Actions {
    pub backend: Backend,
    pub tools: Vec<ToolDef>,
    pub identity: Option<IdentityDef>,
    pub flows: Vec<FlowDef>,
    pub messages: ActionMessages,
}

impl Actions {
    pub fn tool(&self, name: &str) -> Option<&ToolDef> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// The flow of an intent, if it has one.
    pub fn flow(&self, intent: &str) -> Option<&FlowDef> {
        self.flows.iter().find(|f| f.intent == intent)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolsFile {
    #[serde(default)]
    backend: Backend,
    #[serde(default)]
    tool: Vec<Spanned<ToolDef>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlowsFile {
    #[serde(default)]
    identity: Option<Spanned<IdentityDef>>,
    #[serde(default)]
    flow: Vec<Spanned<FlowDef>>,
    #[serde(default)]
    messages: ActionMessages,
}

/// Parses both files (either may be absent) and checks them against each
/// other and the intents, pushing every problem with its line.
pub(crate) fn parse(
    tools_src: Option<&Source>,
    flows_src: Option<&Source>,
    intents: &[String],
    problems: &mut Vec<Problem>,
) -> Actions {
    let mut actions = Actions::default();
    let mut tool_spans = Vec::new();
    if let Some(src) = tools_src {
        match toml::from_str::<ToolsFile>(&src.text) {
            Ok(file) => {
                actions.backend = file.backend;
                for tool in file.tool {
                    tool_spans.push(tool.span());
                    actions.tools.push(tool.into_inner());
                }
                check_tools(src, &actions, &tool_spans, problems);
            }
            Err(e) => problems.push(src.toml_error(&e)),
        }
    }
    if let Some(src) = flows_src {
        match toml::from_str::<FlowsFile>(&src.text) {
            Ok(file) => {
                actions.messages = file.messages;
                let identity_span = file.identity.as_ref().map(|i| i.span());
                actions.identity = file.identity.map(Spanned::into_inner);
                let mut spans = Vec::new();
                for flow in file.flow {
                    spans.push(flow.span());
                    actions.flows.push(flow.into_inner());
                }
                let tools = tools_src.map(|t| (t, tool_spans.as_slice()));
                check_flows(src, tools, &actions, identity_span, &spans, intents, problems);
            }
            Err(e) => problems.push(src.toml_error(&e)),
        }
    }
    actions
}

fn check_tools(
    src: &Source,
    actions: &Actions,
    spans: &[Range<usize>],
    problems: &mut Vec<Problem>,
) {
    let backend = &actions.backend;
    if !actions.tools.is_empty() && backend.base_url.is_none() && backend.base_url_env.is_none() {
        problems.push(src.whole("[backend] needs `base_url` or `base_url_env` for the tools"));
    }
    if let Some(url) = &backend.base_url {
        if let Err(problem) = crate::tls::check_url(url) {
            problems.push(src.at_text("base_url", format!("`base_url`: {problem}")));
        }
    }
    if backend.timeout_ms == 0 || backend.timeout_ms > 60_000 {
        problems.push(src.at_text("timeout_ms", "`timeout_ms` must be 1 to 60000"));
    }

    for (i, (tool, span)) in actions.tools.iter().zip(spans).enumerate() {
        let mut here = |msg: String| problems.push(src.at(span.clone(), msg));
        let name = &tool.name;
        if actions.tools[..i].iter().any(|t| &t.name == name) {
            here(format!("tool `{name}` is defined twice"));
        }
        if !is_identifier(name) {
            here(format!("tool name `{name}` must be letters, digits and `_`"));
        }
        if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&tool.method.as_str()) {
            here(format!(
                "tool `{name}`: method `{}` is not GET, POST, PUT, PATCH or DELETE",
                tool.method
            ));
        }
        if !tool.path.starts_with('/') {
            here(format!("tool `{name}`: `path` must start with `/`"));
        }
        for placeholder in path_placeholders(&tool.path) {
            if !tool.params.contains_key(placeholder) {
                here(format!(
                    "tool `{name}`: path uses `{{{placeholder}}}`, which is no parameter"
                ));
            }
        }
        if tool.kind == ToolKind::Read && tool.method != "GET" && !tool.idempotency_key {
            // A read over POST is fine, but it must be safe to repeat.
            here(format!(
                "tool `{name}` is a read over {}: declare `idempotency_key = true` \
                          if it is safe to repeat",
                tool.method
            ));
        }
        if tool.requires_confirmation && tool.confirm.is_none() {
            here(format!("tool `{name}` requires confirmation but has no `confirm` summary"));
        }
        if tool.kind == ToolKind::Write && !tool.requires_confirmation {
            here(format!(
                "tool `{name}` is a write: set `requires_confirmation = true`, the \
                          customer says yes before anything changes"
            ));
        }
        if let Some(limit) = &tool.approval {
            match tool.params.get(&limit.param) {
                Some(p) if p.ty == ParamType::Number => {}
                _ => here(format!(
                    "tool `{name}`: approval is on `{}`, which is no number \
                                   parameter",
                    limit.param
                )),
            }
        }
        for (param, def) in &tool.params {
            if let Some(pattern) = &def.pattern {
                if let Err(e) = regex::Regex::new(pattern) {
                    here(format!("tool `{name}`, parameter `{param}`: bad pattern: {e}"));
                }
            }
            if def.from.trim().is_empty() {
                here(format!("tool `{name}`, parameter `{param}`: `from` is empty"));
            }
        }
    }
}

fn check_flows(
    src: &Source,
    tools: Option<(&Source, &[Range<usize>])>,
    actions: &Actions,
    identity_span: Option<Range<usize>>,
    spans: &[Range<usize>],
    intents: &[String],
    problems: &mut Vec<Problem>,
) {
    if let (Some(identity), Some(span)) = (&actions.identity, identity_span) {
        let mut here = |msg: String| problems.push(src.at(span.clone(), msg));
        if identity.by_email.is_none() && identity.by_name_zip.is_none() {
            here("[identity] needs `by_email` or `by_name_zip`".into());
        }
        let named = [&identity.by_email, &identity.by_name_zip, &identity.details];
        for tool in named.into_iter().flatten() {
            match actions.tool(tool) {
                None => here(format!("[identity] names unknown tool `{tool}`")),
                Some(t) if t.kind != ToolKind::Read => {
                    here(format!("[identity] tool `{tool}` must be a read"))
                }
                Some(_) => {}
            }
        }
    }

    let mut tool_problems = Vec::new();
    for (i, (flow, span)) in actions.flows.iter().zip(spans).enumerate() {
        let mut here = |msg: String| problems.push(src.at(span.clone(), msg));
        let intent = &flow.intent;
        if actions.flows[..i].iter().any(|f| &f.intent == intent) {
            here(format!("intent `{intent}` has two flows"));
        }
        if !intents.contains(intent) {
            here(format!("flow for unknown intent `{intent}`; intents.toml does not define it"));
        }
        if flow.verify && actions.identity.is_none() {
            here(format!("flow `{intent}` verifies the customer, but there is no [identity]"));
        }

        // What a reference may start with, growing as tools are called.
        let mut roots: Vec<String> = flow.slots.iter().map(|s| s.name.clone()).collect();
        roots.push("customer".into());
        // A lookup read once per entry of another slot has no answer of its
        // own outside that slot's texts.
        roots.extend(
            flow.slots.iter().filter(|s| s.each.is_none()).filter_map(|s| s.lookup.clone()),
        );
        if flow.slots.iter().any(|s| !s.lines.is_empty()) {
            roots.push("lines".into());
        }
        let mut at_slots = Vec::new();
        for (n, slot) in flow.slots.iter().enumerate() {
            for message in check_each(slot, &flow.slots[..n], &roots, intent) {
                at_slots.push((slot_span(src, span, &slot.name), message));
            }
        }
        for slot in &flow.slots {
            if let Some(kind) = &slot.entity {
                if !ENTITY_KINDS.contains(&kind.as_str()) {
                    here(format!(
                        "flow `{intent}`, slot `{}`: unknown entity `{kind}`; use one \
                                  of {}",
                        slot.name,
                        ENTITY_KINDS.join(", ")
                    ));
                }
            }
            if let Some(pattern) = &slot.pattern {
                if let Err(e) = regex::Regex::new(pattern) {
                    here(format!("flow `{intent}`, slot `{}`: bad pattern: {e}", slot.name));
                }
            }
            if slot.entity.is_none()
                && slot.pattern.is_none()
                && slot.choices.is_empty()
                && slot.among.is_none()
            {
                here(format!(
                    "flow `{intent}`, slot `{}` has no `entity`, `pattern`, \
                              `choices` or `among` to be filled from",
                    slot.name
                ));
            }
            check_pick(slot, actions, &roots, intent, &mut here);
        }
        for (n, step) in flow.steps.iter().enumerate() {
            let step_no = n + 1;
            if step.call.is_none() && step.say.is_none() && !step.stop {
                here(format!("flow `{intent}`, step {step_no} neither calls, says nor stops"));
            }
            if let Some(when) = &step.when {
                match parse_condition(when) {
                    Ok(c) => {
                        for r in c.references() {
                            check_root(r, &roots, intent, step_no, &mut here);
                        }
                    }
                    Err(e) => here(format!("flow `{intent}`, step {step_no}: {e}")),
                }
            }
            if let Some(call) = &step.call {
                match actions.tool(call) {
                    None => here(format!(
                        "flow `{intent}`, step {step_no} calls unknown tool \
                                          `{call}`"
                    )),
                    Some(tool) => {
                        // What the tool quotes is written in tools.toml: a
                        // reference the flow cannot fill is told on the
                        // tool's line, with the flow and step that call it.
                        let mut in_tool = Vec::new();
                        for (name, def) in &tool.params {
                            let mut said =
                                |m: String| in_tool.push(format!("`params.{name}`: {m}"));
                            check_root(&def.from, &roots, intent, step_no, &mut said);
                        }
                        if let Some(confirm) = &tool.confirm {
                            for r in super::templates::references(confirm).unwrap_or_default() {
                                let mut said = |m: String| in_tool.push(format!("`confirm`: {m}"));
                                check_root(r, &roots, intent, step_no, &mut said);
                                check_lines(r, flow, step_no, &mut said);
                            }
                        }
                        let at_tool = tools.and_then(|(tools_src, spans)| {
                            let i = actions.tools.iter().position(|t| t.name == tool.name)?;
                            Some((tools_src, spans.get(i)?.clone()))
                        });
                        for message in in_tool {
                            let message = format!("tool `{call}`, {message}");
                            match &at_tool {
                                Some((tools_src, span)) => {
                                    tool_problems.push(tools_src.at(span.clone(), message))
                                }
                                None => here(message),
                            }
                        }
                        roots.push(call.clone());
                    }
                }
            }
            if let Some(say) = &step.say {
                match super::templates::references(say) {
                    Ok(used) => {
                        for r in used {
                            check_root(r, &roots, intent, step_no, &mut here);
                            check_lines(r, flow, step_no, &mut here);
                        }
                    }
                    Err(e) => here(format!("flow `{intent}`, step {step_no}: `say` {e}")),
                }
            }
        }
        for (at, message) in at_slots {
            problems.push(src.at(at, message));
        }
    }
    problems.extend(tool_problems);
}

/// Where a slot of a flow starts: the line of its `name`, or the flow's
/// first line when it cannot be found.
fn slot_span(src: &Source, flow: &Range<usize>, slot: &str) -> Range<usize> {
    // The flow's text runs to the next flow's header: its span may hold
    // its own table only.
    let rest = src.text.get(flow.start..).unwrap_or("");
    let end = rest.get(1..).and_then(|r| r.find("\n[[flow]]")).map_or(rest.len(), |e| e + 1);
    let text = &rest[..end];
    let at = [format!("name = \"{slot}\""), format!("name = '{slot}'")]
        .iter()
        .filter_map(|needle| text.find(needle.as_str()))
        .min();
    match at {
        Some(at) => flow.start + at..flow.start + at,
        None => flow.clone(),
    }
}

/// The rules of a slot picked per entry of another (`each`, `as`,
/// `lines`) and of a slot told about entries it lacks (`wider`,
/// `not_in_list`). `before` are the slots defined before this one.
fn check_each(slot: &SlotDef, before: &[SlotDef], roots: &[String], intent: &str) -> Vec<String> {
    let mut out = Vec::new();
    let name = &slot.name;
    let at = format!("flow `{intent}`, slot `{name}`");
    match (&slot.each, &slot.each_as) {
        (Some(each), as_name) => {
            match before.iter().find(|s| &s.name == each) {
                Some(source) if source.many => {}
                Some(_) => out.push(format!(
                    "{at}: `each = \"{each}\"` needs slot `{each}` to be a list (`many = true`)"
                )),
                None => out.push(format!(
                    "{at}: `each = \"{each}\"` names no slot defined before this one"
                )),
            }
            if slot.many {
                out.push(format!("{at}: a slot with `each` cannot also be `many`"));
            }
            if slot.among.is_none() {
                out.push(format!("{at}: `each` needs `among`, the list to pick from per entry"));
            }
            match as_name {
                None => out.push(format!("{at}: `each` needs `as`, the name of the entry")),
                Some(a) if !is_identifier(a) => {
                    out.push(format!("{at}: `as = \"{a}\"` must be letters, digits and `_`"))
                }
                Some(a) if roots.contains(a) || GLOBAL_ROOTS.contains(&a.as_str()) => out
                    .push(format!("{at}: `as = \"{a}\"` is already the name of a slot or a value")),
                Some(_) => {}
            }
            let mut own = roots.to_vec();
            own.extend(as_name.iter().cloned());
            own.extend(slot.lookup.iter().cloned());
            let entry = as_name.as_deref().unwrap_or("as");
            for (line, text) in &slot.lines {
                match unknown_references(text, &own) {
                    Ok(unknown) => out.extend(unknown.into_iter().map(|r| {
                        format!(
                            "{at}, line `{line}`: `{r}` names no slot, not `{entry}`, not the \
                             slot's lookup and not `customer`"
                        )
                    })),
                    Err(e) => out.push(format!("{at}, line `{line}`: {e}")),
                }
            }
        }
        (None, Some(_)) => {
            out.push(format!("{at}: `as` names the entry of `each`, which is missing"))
        }
        (None, None) if !slot.lines.is_empty() => {
            out.push(format!("{at}: `lines` are said per entry of `each`, which is missing"))
        }
        (None, None) => {}
    }
    if let Some(wider) = &slot.wider {
        if slot.among.is_none() || slot.matches.is_none() {
            out.push(format!("{at}: `wider` needs `among` and `match`"));
        }
        let root = wider.split(['.', '[']).next().unwrap_or("");
        if !roots.iter().any(|r| r == root) {
            out.push(format!(
                "{at}: `wider = \"{wider}\"` names `{root}`, which is no slot, no lookup and \
                 not `customer`"
            ));
        }
    }
    if let Some(text) = &slot.not_in_list {
        if slot.wider.is_none() {
            out.push(format!(
                "{at}: `not_in_list` is said for entries of `wider`, which is missing"
            ));
        }
        let mut own = roots.to_vec();
        own.push("named".into());
        match unknown_references(text, &own) {
            Ok(unknown) => out.extend(unknown.into_iter().map(|r| {
                format!(
                    "{at}: `not_in_list` uses `{r}`, which is no slot, no lookup, not \
                     `named` and not `customer`"
                )
            })),
            Err(e) => out.push(format!("{at}: `not_in_list` {e}")),
        }
    }
    out
}

/// The references of a text whose first part is none of `known`.
fn unknown_references<'a>(text: &'a str, known: &[String]) -> Result<Vec<&'a str>, String> {
    let used = super::templates::references(text)?;
    Ok(used
        .into_iter()
        .filter(|r| {
            let root = r.split(['.', '[']).next().unwrap_or("");
            !known.iter().any(|k| k == root) && !GLOBAL_ROOTS.contains(&root)
        })
        .collect())
}

/// A reference to a slot's per-entry texts (`lines.SLOT.NAME`) names a
/// slot picked per entry and one of its `lines`.
fn check_lines(reference: &str, flow: &FlowDef, step: usize, here: &mut impl FnMut(String)) {
    let mut parts = reference.split('.');
    if parts.next() != Some("lines") {
        return;
    }
    let (slot, line) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let intent = &flow.intent;
    match flow.slots.iter().find(|s| s.name == slot) {
        Some(s) if s.lines.contains_key(line) => {}
        Some(s) if s.each.is_some() => here(format!(
            "flow `{intent}`, step {step}: `{reference}`: slot `{slot}` has no line `{line}`"
        )),
        _ => here(format!(
            "flow `{intent}`, step {step}: `{reference}` needs `{slot}` to be a slot with \
             `each` and `lines`"
        )),
    }
}

/// A slot picked from a list: its lookup is a known read, its references
/// start where references may.
fn check_pick(
    slot: &SlotDef,
    actions: &Actions,
    roots: &[String],
    intent: &str,
    here: &mut impl FnMut(String),
) {
    let name = &slot.name;
    let mut roots = roots.to_vec();
    // The entry a slot is picked for, in its lookup, list and condition.
    roots.extend(slot.each_as.iter().cloned());
    if let Some(lookup) = &slot.lookup {
        match actions.tool(lookup) {
            None => here(format!("flow `{intent}`, slot `{name}`: unknown lookup tool `{lookup}`")),
            Some(t) if t.kind != ToolKind::Read => {
                here(format!("flow `{intent}`, slot `{name}`: lookup `{lookup}` must be a read"))
            }
            Some(t) => {
                for def in t.params.values() {
                    check_slot_root(&def.from, &roots, intent, name, here);
                }
                roots.push(lookup.clone());
            }
        }
    }
    for reference in [&slot.among, &slot.original].into_iter().flatten() {
        check_slot_root(reference, &roots, intent, name, here);
    }
    if let Some(when) = &slot.when {
        match parse_condition(when) {
            Ok(c) => c.references().for_each(|r| check_slot_root(r, &roots, intent, name, here)),
            Err(e) => here(format!("flow `{intent}`, slot `{name}`: {e}")),
        }
    }
    let needs_among = slot.lookup.is_some()
        || slot.value.is_some()
        || slot.matches.is_some()
        || slot.original.is_some();
    if needs_among && slot.among.is_none() {
        here(format!(
            "flow `{intent}`, slot `{name}`: `lookup`, `value`, `match` and `original` \
             need `among`, the list to pick from"
        ));
    }
}

fn check_slot_root(
    reference: &str,
    roots: &[String],
    intent: &str,
    slot: &str,
    here: &mut impl FnMut(String),
) {
    let root = reference.split(['.', '[']).next().unwrap_or("");
    if !roots.iter().any(|r| r == root) && !GLOBAL_ROOTS.contains(&root) {
        here(format!(
            "flow `{intent}`, slot `{slot}`: `{reference}` names `{root}`, which is no \
             slot, not the slot's lookup and not `customer`"
        ));
    }
}

fn check_root(
    reference: &str,
    roots: &[String],
    intent: &str,
    step: usize,
    here: &mut impl FnMut(String),
) {
    if reference.starts_with('\'') && reference.ends_with('\'') && reference.len() >= 2 {
        return;
    }
    let root = reference.split(['.', '[']).next().unwrap_or("");
    if !roots.iter().any(|r| r == root) && !GLOBAL_ROOTS.contains(&root) {
        here(format!(
            "flow `{intent}`, step {step}: `{reference}` names `{root}`, which is no slot, \
             no tool called before this step and not `customer`"
        ));
    }
}

/// References filled in every flow text, from the settings.
const GLOBAL_ROOTS: &[&str] = &["bot_name", "company"];

/// The entity kinds a slot can be filled from.
pub const ENTITY_KINDS: &[&str] = &["order_number", "email", "phone", "money", "date", "product"];

fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The `{name}` parts of a tool's path.
pub fn path_placeholders(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else { break };
        out.push(&rest[start + 1..start + len]);
        rest = &rest[start + len + 1..];
    }
    out
}

/// A step's condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub left: Operand,
    pub op: Op,
    pub right: Operand,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Reference(String),
    Text(String),
    Number(f64),
}

impl Condition {
    fn references(&self) -> impl Iterator<Item = &str> {
        [&self.left, &self.right].into_iter().filter_map(|o| match o {
            Operand::Reference(r) => Some(r.as_str()),
            _ => None,
        })
    }
}

/// `REF == 'text'`, `REF != OTHER.REF`, `REF > 250`.
pub fn parse_condition(text: &str) -> Result<Condition, String> {
    let ops = [("==", Op::Eq), ("!=", Op::Ne), (">", Op::Gt), ("<", Op::Lt)];
    let (at, token, op) = ops
        .iter()
        .find_map(|(token, op)| text.find(token).map(|at| (at, *token, *op)))
        .ok_or_else(|| format!("`when = \"{text}\"` needs ==, !=, > or <"))?;
    let left = operand(text[..at].trim())?;
    let right = operand(text[at + token.len()..].trim())?;
    if !matches!(left, Operand::Reference(_)) {
        return Err(format!("`when = \"{text}\"` must start with a reference"));
    }
    if matches!(op, Op::Gt | Op::Lt) && !matches!(right, Operand::Number(_)) {
        return Err(format!("`when = \"{text}\"`: > and < compare with a number"));
    }
    Ok(Condition { left, op, right })
}

fn operand(text: &str) -> Result<Operand, String> {
    if text.is_empty() {
        return Err("a condition has an empty side".into());
    }
    if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        return Ok(Operand::Text(inner.to_string()));
    }
    if let Ok(n) = text.parse::<f64>() {
        return Ok(Operand::Number(n));
    }
    if text.chars().all(|c| c.is_ascii_alphanumeric() || "._[]=".contains(c)) {
        return Ok(Operand::Reference(text.to_string()));
    }
    Err(format!("`{text}` is neither a reference, a 'quoted text' nor a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_read_references_quoted_text_and_numbers() {
        let c = parse_condition("get_order.status != 'pending'").unwrap();
        assert_eq!(c.left, Operand::Reference("get_order.status".into()));
        assert_eq!((c.op, c.right), (Op::Ne, Operand::Text("pending".into())));
        let c = parse_condition("amount > 250").unwrap();
        assert_eq!((c.op, c.right), (Op::Gt, Operand::Number(250.0)));
        assert!(parse_condition("amount > 'x'").is_err());
        assert!(parse_condition("status").is_err());
    }

    #[test]
    fn path_placeholders_are_found_in_order() {
        assert_eq!(path_placeholders("/orders/{order_id}/items/{item}"), vec!["order_id", "item"]);
        assert!(path_placeholders("/users").is_empty());
    }
}
