//! The rules a tool call is held to before it runs, as pure checks: the
//! parameters' types and values, the approval limit, the rate limits. The
//! flow runner asks them in order and never calls a tool one of them stops.

use serde_json::{Map, Value};

use crate::workspace::{ParamType, ToolDef};

/// Checks every parameter against its declaration; the message names the
/// parameter and what is wrong, in words a customer can act on.
pub fn validate(tool: &ToolDef, params: &Map<String, Value>) -> Result<(), String> {
    for (name, def) in &tool.params {
        let Some(value) = params.get(name) else {
            if def.optional {
                continue;
            }
            return Err(format!("I'm missing the {} for that.", words(name)));
        };
        let fits = match def.ty {
            ParamType::String => value.as_str().is_some_and(|s| !s.trim().is_empty()),
            ParamType::Number => number(value).is_some(),
            ParamType::Email => value.as_str().is_some_and(|s| {
                s.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
            }),
            ParamType::List => value.as_array().is_some_and(|a| !a.is_empty()),
            ParamType::Object => value.is_object(),
        };
        if !fits {
            return Err(format!("The {} doesn't look right.", words(name)));
        }
        if let (Some(pattern), Some(text)) = (&def.pattern, value.as_str()) {
            let full = format!("^(?:{pattern})$");
            if !regex::Regex::new(&full).is_ok_and(|re| re.is_match(text)) {
                return Err(format!("\"{text}\" doesn't look like a valid {}.", words(name)));
            }
        }
        if !def.choices.is_empty() {
            let text = value.as_str().unwrap_or_default();
            if !def.choices.iter().any(|c| c == text) {
                return Err(format!(
                    "The {} must be one of: {}.",
                    words(name),
                    def.choices.join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// Why a call needs a person's approval, if it does: the policy as a
/// sentence the agent and the customer read.
pub fn approval_needed(tool: &ToolDef, params: &Map<String, Value>) -> Option<String> {
    approval_needed_after(tool, params, 0.0)
}

/// The same, counting what the assistant already let through on its own
/// for the same target (the same order, say): a limit split over several
/// calls holds for their sum.
pub fn approval_needed_after(
    tool: &ToolDef,
    params: &Map<String, Value>,
    already: f64,
) -> Option<String> {
    let limit = tool.approval.as_ref()?;
    let value = params.get(&limit.param).and_then(number)?;
    let name = words(&limit.param);
    if already > 0.0 {
        return (value + already > limit.above).then(|| {
            format!(
                "{name} {value:.2}, with the {already:.2} the assistant already approved for \
                 the same {}, is above the {:.2} the assistant may approve",
                target(tool),
                limit.above
            )
        });
    }
    (value > limit.above).then(|| {
        format!("{name} {value:.2} is above the {:.2} the assistant may approve", limit.above)
    })
}

/// What a tool's calls are about, in words: its path's parameters
/// ("order id"), or the customer when the path has none.
fn target(tool: &ToolDef) -> String {
    let names = crate::workspace::path_placeholders(&tool.path);
    if names.is_empty() {
        "customer".into()
    } else {
        names.iter().map(|n| words(n)).collect::<Vec<_>>().join(" and ")
    }
}

/// Why a call is over a rate limit, given the successful calls of the tool
/// so far in the conversation and for the customer.
pub fn rate_limited(tool: &ToolDef, in_conversation: u32, for_customer: u32) -> Option<String> {
    if let Some(max) = tool.max_per_conversation {
        if in_conversation >= max {
            return Some(format!(
                "`{}` ran {in_conversation} of {max} times allowed in one \
                                 conversation",
                tool.name
            ));
        }
    }
    if let Some(max) = tool.max_per_customer {
        if for_customer >= max {
            return Some(format!(
                "`{}` ran {for_customer} of {max} times allowed for one \
                                 customer",
                tool.name
            ));
        }
    }
    None
}

/// A number, or a number written as text ("349.96", "$349.96 USD").
pub fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let cleaned: String =
                s.chars().filter(|c| c.is_ascii_digit() || *c == '.' || *c == '-').collect();
            cleaned.parse().ok()
        }
        _ => None,
    }
}

fn words(name: &str) -> String {
    name.replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::{ApprovalLimit, ParamDef, ToolKind};
    use serde_json::json;

    fn refund_tool() -> ToolDef {
        let param = |ty, pattern: Option<&str>| ParamDef {
            ty,
            from: "x".into(),
            pattern: pattern.map(str::to_string),
            choices: vec![],
            optional: false,
        };
        ToolDef {
            name: "refund".into(),
            description: "Refund an order".into(),
            kind: ToolKind::Write,
            method: "POST".into(),
            path: "/orders/{order_id}/refund".into(),
            params: [
                ("order_id".to_string(), param(ParamType::String, Some("#?W\\d{7}"))),
                ("amount".to_string(), param(ParamType::Number, None)),
            ]
            .into_iter()
            .collect(),
            idempotency_key: false,
            retries: 0,
            requires_verified_customer: true,
            requires_confirmation: true,
            confirm: Some("Refund {amount}?".into()),
            approval: Some(ApprovalLimit { param: "amount".into(), above: 250.0 }),
            max_per_conversation: Some(1),
            max_per_customer: Some(3),
        }
    }

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn parameters_are_checked_against_type_and_pattern() {
        let tool = refund_tool();
        assert_eq!(validate(&tool, &params(json!({"order_id": "W1234567", "amount": 12}))), Ok(()));
        assert_eq!(
            validate(&tool, &params(json!({"order_id": "W12", "amount": 12}))),
            Err("\"W12\" doesn't look like a valid order id.".into())
        );
        assert_eq!(
            validate(&tool, &params(json!({"order_id": "W1234567"}))),
            Err("I'm missing the amount for that.".into())
        );
    }

    #[test]
    fn an_amount_above_the_limit_needs_approval_and_one_at_it_does_not() {
        let tool = refund_tool();
        let above = params(json!({"order_id": "W1234567", "amount": 349.96}));
        assert_eq!(
            approval_needed(&tool, &above).as_deref(),
            Some("amount 349.96 is above the 250.00 the assistant may approve")
        );
        let at = params(json!({"order_id": "W1234567", "amount": "250.00"}));
        assert_eq!(approval_needed(&tool, &at), None);
    }

    #[test]
    fn rate_limits_count_per_conversation_and_per_customer() {
        let tool = refund_tool();
        assert_eq!(rate_limited(&tool, 0, 2), None);
        assert_eq!(
            rate_limited(&tool, 1, 1).as_deref(),
            Some("`refund` ran 1 of 1 times allowed in one conversation")
        );
        assert_eq!(
            rate_limited(&tool, 0, 3).as_deref(),
            Some("`refund` ran 3 of 3 times allowed for one customer")
        );
    }
}
