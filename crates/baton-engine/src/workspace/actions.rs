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

use serde::de::DeserializeOwned;
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

/// A table as written, with where it is. Each is turned into its
/// definition on its own, so that a mistake in one hides no other.
type Raw = Spanned<toml::Value>;

#[derive(Deserialize)]
struct ToolsFile {
    #[serde(default)]
    backend: Option<Raw>,
    #[serde(default)]
    tool: Vec<Raw>,
}

#[derive(Deserialize)]
struct FlowsFile {
    #[serde(default)]
    identity: Option<Raw>,
    #[serde(default)]
    flow: Vec<Spanned<RawFlow>>,
    #[serde(default)]
    messages: Option<Raw>,
}

/// A `[[flow]]` with its slots and steps kept apart, each read on its own.
#[derive(Deserialize)]
struct RawFlow {
    #[serde(default)]
    slot: Vec<Raw>,
    #[serde(default)]
    step: Vec<Raw>,
    #[serde(flatten)]
    head: toml::Table,
}

/// The keys of a `[[flow]]` other than its slots and steps.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlowHead {
    intent: String,
    #[serde(default)]
    verify: bool,
}

/// What was read of tools.toml, for the checks.
#[derive(Default)]
struct ToolsRead {
    /// The span of each tool of [`Actions::tools`].
    spans: Vec<Range<usize>>,
    /// The names of tools whose table is broken: known, and already told.
    broken: Vec<String>,
    /// The file could not be read at all, so no tool can be told unknown.
    unreadable: bool,
    /// `[backend]` was read; a broken one is told once, not checked further.
    backend_read: bool,
}

/// A tool a reference names, as far as the checks can tell.
enum Lookup<'a> {
    Tool(&'a ToolDef),
    /// Its table (or the whole file) is broken and already told.
    Broken,
    Unknown,
}

impl ToolsRead {
    fn lookup<'a>(&self, actions: &'a Actions, name: &str) -> Lookup<'a> {
        match actions.tool(name) {
            Some(tool) => Lookup::Tool(tool),
            None if self.unreadable || self.broken.iter().any(|b| b == name) => Lookup::Broken,
            None => Lookup::Unknown,
        }
    }
}

/// What was read of one flow whose own keys are sound, for the checks.
struct FlowRead {
    span: Range<usize>,
    /// The span of each slot of the flow's `slots`.
    slot_spans: Vec<Range<usize>>,
    /// The names of slots whose table is broken.
    broken_slots: Vec<String>,
    /// Every step in file order, numbered from 1 by position: its span,
    /// and its index in the flow's `steps`, or for a broken one the tool it
    /// names, which later steps may still refer to.
    steps: Vec<(Range<usize>, StepRead)>,
}

/// A step as read: its index in the flow's `steps`, or for a broken one the
/// tool it names.
type StepRead = Result<usize, Option<String>>;

/// `[identity]` as read: its span, `None` when the file has none, or
/// `Err(())` when it is broken (and told).
type IdentityRead = Result<Option<Range<usize>>, ()>;

/// Parses both files (either may be absent) and checks them against each
/// other and the intents, pushing every problem with its line.
pub(crate) fn parse(
    tools_src: Option<&Source>,
    flows_src: Option<&Source>,
    intents: &[String],
    problems: &mut Vec<Problem>,
) -> Actions {
    let mut actions = Actions::default();
    let mut tools = ToolsRead::default();
    if let Some(src) = tools_src {
        read_tools(src, &mut actions, &mut tools, problems);
        check_tools(src, &actions, &tools, problems);
    }
    if let Some(src) = flows_src {
        if let Some((reads, identity)) = read_flows(src, &mut actions, problems) {
            let tools = (tools_src, &tools);
            check_flows(src, tools, &actions, identity, &reads, intents, problems);
        }
    }
    actions
}

fn read_tools(
    src: &Source,
    actions: &mut Actions,
    read: &mut ToolsRead,
    problems: &mut Vec<Problem>,
) {
    let Some(file) = read_file::<ToolsFile>(src, &["backend", "tool"], problems) else {
        read.unreadable = true;
        return;
    };
    // Without a [backend] table, its keys take their defaults.
    let (span, table) = match file.backend {
        Some(backend) => (backend.span(), backend.into_inner()),
        None => (0..0, toml::Value::Table(toml::Table::new())),
    };
    if let Some(backend) = entry(src, span, table, problems) {
        actions.backend = backend;
        read.backend_read = true;
    }
    for tool in file.tool {
        let span = tool.span();
        let name = text_of(tool.get_ref(), "name");
        match entry(src, span.clone(), tool.into_inner(), problems) {
            Some(def) => {
                actions.tools.push(def);
                read.spans.push(span);
            }
            None => read.broken.extend(name),
        }
    }
}

/// Reads flows.toml table by table: the flows to check and how
/// `[identity]` was read, or `None` when the file cannot be read at all.
fn read_flows(
    src: &Source,
    actions: &mut Actions,
    problems: &mut Vec<Problem>,
) -> Option<(Vec<FlowRead>, IdentityRead)> {
    let file = read_file::<FlowsFile>(src, &["identity", "flow", "messages"], problems)?;
    if let Some(messages) = file.messages {
        let span = messages.span();
        if let Some(messages) = entry(src, span, messages.into_inner(), problems) {
            actions.messages = messages;
        }
    }
    let identity = match file.identity {
        None => Ok(None),
        Some(identity) => {
            let span = identity.span();
            match entry(src, span.clone(), identity.into_inner(), problems) {
                Some(def) => {
                    actions.identity = Some(def);
                    Ok(Some(span))
                }
                None => Err(()),
            }
        }
    };

    let mut reads = Vec::new();
    for flow in file.flow {
        let span = flow.span();
        let raw = flow.into_inner();
        let head: Option<FlowHead> =
            entry(src, span.clone(), toml::Value::Table(raw.head), problems);
        let mut def =
            FlowDef { intent: String::new(), verify: false, slots: Vec::new(), steps: Vec::new() };
        let mut read =
            FlowRead { span, slot_spans: Vec::new(), broken_slots: Vec::new(), steps: Vec::new() };
        for slot in raw.slot {
            let span = slot.span();
            let name = text_of(slot.get_ref(), "name");
            match entry(src, span.clone(), slot.into_inner(), problems) {
                Some(slot) => {
                    def.slots.push(slot);
                    read.slot_spans.push(span);
                }
                None => read.broken_slots.extend(name),
            }
        }
        for step in raw.step {
            let span = step.span();
            let call = text_of(step.get_ref(), "call");
            match entry(src, span.clone(), step.into_inner(), problems) {
                Some(step) => {
                    read.steps.push((span, Ok(def.steps.len())));
                    def.steps.push(step);
                }
                None => read.steps.push((span, Err(call))),
            }
        }
        // A flow whose own keys are broken is told once, not checked.
        if let Some(head) = head {
            def.intent = head.intent;
            def.verify = head.verify;
            actions.flows.push(def);
            reads.push(read);
        }
    }
    Some((reads, identity))
}

/// A file's tables by name, or `None` (told) when it is no TOML or a table
/// has the wrong shape. A key other than `known` is told and left out.
fn read_file<T: DeserializeOwned>(
    src: &Source,
    known: &[&str],
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let top: BTreeMap<String, Raw> = match toml::from_str(&src.text) {
        Ok(top) => top,
        Err(e) => {
            problems.push(src.toml_error(&e));
            return None;
        }
    };
    for (key, value) in &top {
        if !known.contains(&key.as_str()) {
            let expected = known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>();
            let message = format!("unknown table `{key}`, expected {}", expected.join(", "));
            problems.push(src.at(value.span(), message));
        }
    }
    match toml::from_str(&src.text) {
        Ok(file) => Some(file),
        Err(e) => {
            problems.push(src.toml_error(&e));
            None
        }
    }
}

/// One table turned into its definition, or `None` with the mistake told
/// on its line.
fn entry<T: DeserializeOwned>(
    src: &Source,
    span: Range<usize>,
    value: toml::Value,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let error = match T::deserialize(value) {
        Ok(def) => return Some(def),
        Err(error) => error,
    };
    let message = error.message().trim().to_string();
    // The value read carries no lines: the table's own lines, parsed again
    // on their own, point at the key when they tell the same mistake; else
    // the table's first line is told.
    let table = src.text.get(span.clone()).unwrap_or("");
    let body_start = table.starts_with('[').then(|| table.find('\n')).flatten();
    if let Some(body_start) = body_start.map(|n| span.start + n + 1) {
        let body = src.text.get(body_start..span.end).unwrap_or("");
        if let Err(again) = toml::from_str::<T>(body) {
            if let (true, Some(at)) = (again.message().trim() == message, again.span()) {
                let at = body_start + at.start;
                problems.push(src.at(at..at, message));
                return None;
            }
        }
    }
    problems.push(src.at(span, message));
    None
}

/// A text value of a table, such as the name of a tool whose table is
/// broken.
fn text_of(value: &toml::Value, key: &str) -> Option<String> {
    value.get(key).and_then(toml::Value::as_str).map(str::to_string)
}

fn check_tools(src: &Source, actions: &Actions, read: &ToolsRead, problems: &mut Vec<Problem>) {
    let backend = &actions.backend;
    let has_tools = !actions.tools.is_empty() || !read.broken.is_empty();
    if read.backend_read {
        if has_tools && backend.base_url.is_none() && backend.base_url_env.is_none() {
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
    }

    for (i, (tool, span)) in actions.tools.iter().zip(&read.spans).enumerate() {
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
    (tools_src, tools): (Option<&Source>, &ToolsRead),
    actions: &Actions,
    identity_span: IdentityRead,
    reads: &[FlowRead],
    intents: &[String],
    problems: &mut Vec<Problem>,
) {
    if let (Some(identity), Ok(Some(span))) = (&actions.identity, &identity_span) {
        let mut here = |msg: String| problems.push(src.at(span.clone(), msg));
        if identity.by_email.is_none() && identity.by_name_zip.is_none() {
            here("[identity] needs `by_email` or `by_name_zip`".into());
        }
        let named = [&identity.by_email, &identity.by_name_zip, &identity.details];
        for tool in named.into_iter().flatten() {
            match tools.lookup(actions, tool) {
                Lookup::Unknown => here(format!("[identity] names unknown tool `{tool}`")),
                Lookup::Tool(t) if t.kind != ToolKind::Read => {
                    here(format!("[identity] tool `{tool}` must be a read"))
                }
                Lookup::Tool(_) | Lookup::Broken => {}
            }
        }
    }
    // A broken [identity] is told already: flows that verify lack nothing.
    let has_identity = actions.identity.is_some() || identity_span.is_err();

    let mut tool_problems = Vec::new();
    for (i, (flow, read)) in actions.flows.iter().zip(reads).enumerate() {
        let mut here = |msg: String| problems.push(src.at(read.span.clone(), msg));
        let intent = &flow.intent;
        if actions.flows[..i].iter().any(|f| &f.intent == intent) {
            here(format!("intent `{intent}` has two flows"));
        }
        if !intents.contains(intent) {
            here(format!("flow for unknown intent `{intent}`; intents.toml does not define it"));
        }
        if flow.verify && !has_identity {
            here(format!("flow `{intent}` verifies the customer, but there is no [identity]"));
        }

        // What a reference may start with, growing as tools are called. A
        // broken slot is told already: references to it are not.
        let mut roots: Vec<String> = flow.slots.iter().map(|s| s.name.clone()).collect();
        roots.extend(read.broken_slots.iter().cloned());
        roots.push("customer".into());
        // A lookup read once per entry of another slot has no answer of its
        // own outside that slot's texts.
        roots.extend(
            flow.slots.iter().filter(|s| s.each.is_none()).filter_map(|s| s.lookup.clone()),
        );
        if flow.slots.iter().any(|s| !s.lines.is_empty()) {
            roots.push("lines".into());
        }

        // A slot's problems are told on the line of its name.
        let slot_at: Vec<Range<usize>> =
            read.slot_spans.iter().map(|span| key_at(src, span, "name")).collect();
        let mut at_slots = Vec::new();
        for (n, (slot, at)) in flow.slots.iter().zip(&slot_at).enumerate() {
            for message in check_each(slot, &flow.slots[..n], &roots, intent) {
                at_slots.push((at.clone(), message));
            }
        }
        for (slot, at) in flow.slots.iter().zip(&slot_at) {
            let mut here = |msg: String| problems.push(src.at(at.clone(), msg));
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
            check_pick(slot, actions, tools, &roots, intent, &mut here);
        }

        // A step's problems are told on the line of the key they are about.
        for (n, (span, step)) in read.steps.iter().enumerate() {
            let step_no = n + 1;
            let step = match step {
                Ok(index) => &flow.steps[*index],
                // Told already; the tool it names is no unknown root after.
                Err(call) => {
                    roots.extend(call.iter().cloned());
                    continue;
                }
            };
            if step.call.is_none() && step.say.is_none() && !step.stop {
                let msg = format!("flow `{intent}`, step {step_no} neither calls, says nor stops");
                problems.push(src.at(span.clone(), msg));
            }
            if let Some(when) = &step.when {
                let at = key_at(src, span, "when");
                let mut here = |msg: String| problems.push(src.at(at.clone(), msg));
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
                let at = key_at(src, span, "call");
                let mut here = |msg: String| problems.push(src.at(at.clone(), msg));
                match tools.lookup(actions, call) {
                    Lookup::Unknown => here(format!(
                        "flow `{intent}`, step {step_no} calls unknown tool \
                                          `{call}`"
                    )),
                    Lookup::Broken => roots.push(call.clone()),
                    Lookup::Tool(tool) => {
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
                        let at_tool = tools_src.and_then(|tools_src| {
                            let i = actions.tools.iter().position(|t| t.name == tool.name)?;
                            Some((tools_src, tools.spans.get(i)?.clone()))
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
                let at = key_at(src, span, "say");
                let mut here = |msg: String| problems.push(src.at(at.clone(), msg));
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

/// Where a key of a table is written: the line within the table's span
/// that sets it, else the table's first line.
fn key_at(src: &Source, span: &Range<usize>, key: &str) -> Range<usize> {
    let table = src.text.get(span.clone()).unwrap_or("");
    let mut offset = span.start;
    for line in table.split_inclusive('\n') {
        let rest = line.trim_start();
        let sets = rest.strip_prefix(key).is_some_and(|after| after.trim_start().starts_with('='));
        if sets {
            let at = offset + (line.len() - rest.len());
            return at..at;
        }
        offset += line.len();
    }
    span.clone()
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
    tools: &ToolsRead,
    roots: &[String],
    intent: &str,
    here: &mut impl FnMut(String),
) {
    let name = &slot.name;
    let mut roots = roots.to_vec();
    // The entry a slot is picked for, in its lookup, list and condition.
    roots.extend(slot.each_as.iter().cloned());
    if let Some(lookup) = &slot.lookup {
        match tools.lookup(actions, lookup) {
            Lookup::Unknown => {
                here(format!("flow `{intent}`, slot `{name}`: unknown lookup tool `{lookup}`"))
            }
            Lookup::Broken => roots.push(lookup.clone()),
            Lookup::Tool(t) if t.kind != ToolKind::Read => {
                here(format!("flow `{intent}`, slot `{name}`: lookup `{lookup}` must be a read"))
            }
            Lookup::Tool(t) => {
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
