//! `baton report` and `baton audit`: the reports' figures, from the data
//! folder of a stopped server or from a running one over its API. Both
//! paths end in the same `baton_engine::reports` types and the same
//! printing, so the two give the same figures for the same events.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;

use baton_engine::reports::audit::{audit as audit_of, AuditRow};
use baton_engine::reports::{self, Durations, FilterQuery, Summary};
use baton_store::{SqliteStore, Store};

use crate::cli::{AuditArgs, ReportArgs, ReportSource};

pub async fn run(args: ReportArgs) -> Result<ExitCode> {
    let summary: Summary = match &args.source.url {
        Some(url) => fetch(url, &args.source, "summary").await?,
        None => {
            let (filter, events, settings) = local(&args.source).await?;
            let scores = local_pulse_scores(&args.source, &filter).await?;
            reports::summary(&events, &filter, &settings).with_pulse_scores(&scores)
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else if args.csv {
        print!("{}", csv(&serde_json::to_value(&summary)?));
    } else {
        print!("{}", text(&summary));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn audit(args: AuditArgs) -> Result<ExitCode> {
    let rows: Vec<AuditRow> = match &args.source.url {
        Some(url) => {
            let body: Value = fetch(url, &args.source, "audit").await?;
            serde_json::from_value(body["intents"].clone())
                .context("while reading the server's audit")?
        }
        None => {
            let (filter, events, settings) = local(&args.source).await?;
            audit_of(&events, &filter, &settings)
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", audit_text(&rows));
    }
    Ok(ExitCode::SUCCESS)
}

fn query(source: &ReportSource) -> FilterQuery {
    FilterQuery {
        from: source.from.clone(),
        to: source.to.clone(),
        queue: source.queue.clone(),
        intent: source.intent.clone(),
        channel: source.channel.clone(),
        agent: source.agent.clone(),
    }
}

/// The events of a stopped server's data folder, with the filter and the
/// workspace settings to compute with.
async fn local(
    source: &ReportSource,
) -> Result<(reports::Filter, Vec<baton_core::Event>, baton_engine::workspace::Settings)> {
    // A mistyped value is told before the folders are looked at; the queue
    // is checked once the workspace that lists them is read.
    query(source).resolve()?;
    // The file name the SQLite store keeps its database under.
    if !source.data.join("baton.db").is_file() {
        bail!("{} holds no Baton database (baton.db)", source.data.display());
    }
    let workspace = crate::workspace::load(&source.workspace)?;
    let filter = query(source).resolve_in(&workspace.settings)?;
    let store = SqliteStore::open(&source.data)
        .await
        .with_context(|| format!("while opening the data folder {}", source.data.display()))?;
    let events = store
        .events_between(filter.from, filter.to)
        .await
        .context("while reading the event log")?;
    Ok((filter, events, workspace.settings))
}

/// The answers to the weekly copilot question in the filter's period.
async fn local_pulse_scores(source: &ReportSource, filter: &reports::Filter) -> Result<Vec<u8>> {
    let store = SqliteStore::open(&source.data)
        .await
        .with_context(|| format!("while opening the data folder {}", source.data.display()))?;
    let pulses = store
        .pulses(filter.from, filter.to)
        .await
        .context("while reading the copilot question's answers")?;
    Ok(pulses.iter().map(|p| p.score).collect())
}

/// One report from a running server.
async fn fetch<T: DeserializeOwned>(url: &str, source: &ReportSource, path: &str) -> Result<T> {
    // The filter is checked here too, so a typo is reported before any call.
    let filter = query(source);
    filter.resolve()?;
    let Some(token) = source.token.as_deref() else {
        bail!("--url needs an agent's token: pass --token or set BATON_TOKEN");
    };
    let endpoint = format!("{}/api/v1/reports/{path}", url.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .get(&endpoint)
        .query(&filter.pairs())
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("while calling {endpoint}"))?;
    let status = response.status();
    let body: Value = response.json().await.with_context(|| format!("while reading {endpoint}"))?;
    if !status.is_success() {
        let message = body["error"]["message"].as_str().unwrap_or("no message");
        bail!("{endpoint} answered {status}: {message}");
    }
    serde_json::from_value(body).with_context(|| format!("while reading {endpoint}"))
}

/// `12.5 %`, or `-` without a denominator.
fn percent(rate: Option<f64>) -> String {
    rate.map_or("-".into(), |r| format!("{:.1} %", r * 100.0))
}

fn number(value: Option<f64>, decimals: usize) -> String {
    value.map_or("-".into(), |v| format!("{v:.decimals$}"))
}

fn times(d: &Durations) -> String {
    let s = |v: Option<i64>| v.map_or("-".into(), |v| format!("{v} s"));
    format!("median {}, p90 {} (n={})", s(d.median_seconds), s(d.p90_seconds), d.count)
}

/// The summary as a page of text.
fn text(s: &Summary) -> String {
    let mut out = String::new();
    let period =
        |v: Option<chrono::DateTime<chrono::Utc>>| v.map_or("-".into(), |v| v.to_rfc3339());
    let _ =
        writeln!(out, "period               {} to {}", period(s.period.from), period(s.period.to));
    let _ = writeln!(out, "conversations        {}", s.conversations);
    let _ = writeln!(out, "resolved             {}", s.resolved);
    let _ = writeln!(out, "contained            {} ({})", s.contained, percent(s.containment_rate));
    let _ = writeln!(out, "escalated            {} ({})", s.escalated, percent(s.escalation_rate));
    for (reason, n) in s.escalations_by_reason.iter().filter(|(_, n)| **n > 0) {
        let _ = writeln!(out, "  {reason:<26} {n}");
    }
    let _ = writeln!(out, "first response, AI   {}", times(&s.first_response_bot));
    let _ = writeln!(out, "first response, human {}", times(&s.first_response_human));
    let _ = writeln!(out, "time to a human      {}", times(&s.time_to_human));
    let _ = writeln!(out, "handle time          {}", times(&s.handle_time));
    let _ = writeln!(out, "resolution time      {}", times(&s.resolution_time));
    let c = &s.csat;
    let _ = writeln!(
        out,
        "CSAT                 {} average, {} of {} answered ({})",
        number(c.average, 2),
        c.received,
        c.requested,
        percent(c.response_rate)
    );
    let distribution: Vec<String> =
        c.distribution.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    let _ = writeln!(out, "  distribution       {}", distribution.join("  "));
    let e = &s.effort;
    let _ = writeln!(
        out,
        "effort               {} turns per resolution, {} repeated questions, {} transfers",
        number(e.turns_per_resolution, 2),
        e.repeated_questions,
        e.transfers
    );
    for (tool, t) in &s.tools {
        let _ = writeln!(
            out,
            "tool {tool:<16} {} calls, {} failed ({} ok)",
            t.calls,
            t.failed,
            percent(t.success_rate)
        );
    }
    let t = &s.tools_total;
    let _ = writeln!(
        out,
        "AI actions           {} calls, {} failed ({} ok)",
        t.calls,
        t.failed,
        percent(t.success_rate)
    );
    let a = &s.approvals;
    let _ = writeln!(
        out,
        "approvals            {} requested, {} granted, {} rejected, {} pending",
        a.requested, a.granted, a.rejected, a.pending
    );
    for (kind, g) in &s.suggestions {
        let _ = writeln!(
            out,
            "suggestions {kind:<9} {} used, {} edited, {} dismissed ({} accepted)",
            g.used,
            g.edited,
            g.dismissed,
            percent(g.acceptance_rate)
        );
    }
    let g = &s.suggestions_total;
    let _ = writeln!(
        out,
        "suggestions          {} used, {} edited, {} dismissed ({} accepted)",
        g.used,
        g.edited,
        g.dismissed,
        percent(g.acceptance_rate)
    );
    let c = &s.copilot;
    let _ = writeln!(
        out,
        "copilot ratings      {} helpful, {} not helpful ({} helpful)",
        c.helpful,
        c.not_helpful,
        percent(c.helpful_rate)
    );
    let average = c.pulse_average.map_or("-".to_string(), |a| format!("{a:.2}"));
    let _ =
        writeln!(out, "copilot pulse        {} answers, average {average} of 5", c.pulse_responses);
    for (agent, share) in &s.agent_occupancy {
        let _ = writeln!(out, "occupancy {agent} {}", percent(Some(*share)));
    }
    let r = &s.roi;
    let _ = writeln!(
        out,
        "agent hours saved    {:.2}  assuming {}",
        r.agent_hours_saved, r.agent_hours_saved_assumption
    );
    let _ = writeln!(
        out,
        "cost per resolution  {} {}  assuming {}",
        number(r.cost_per_resolution, 2),
        r.currency,
        r.cost_per_resolution_assumption
    );
    out
}

/// Every leaf of a JSON value as a `metric,value` row with a dotted name.
fn csv(value: &Value) -> String {
    fn walk(prefix: &str, value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    let name =
                        if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                    walk(&name, v, out);
                }
            }
            Value::Null => {
                let _ = writeln!(out, "{prefix},");
            }
            Value::String(s) => {
                let _ = writeln!(out, "{prefix},\"{}\"", s.replace('"', "\"\""));
            }
            other => {
                let _ = writeln!(out, "{prefix},{other}");
            }
        }
    }
    let mut out = String::from("metric,value\n");
    walk("", value, &mut out);
    out
}

fn audit_text(rows: &[AuditRow]) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("no conversation with a main intent in this period\n");
    }
    for r in rows {
        let _ = writeln!(
            out,
            "{}. {}  {} conversations, contained {}, CSAT {}, top escalation {}",
            r.rank,
            r.intent,
            r.conversations,
            percent(r.containment_rate),
            number(r.csat_average, 2),
            r.top_reason.as_deref().unwrap_or("-")
        );
        let _ = writeln!(out, "   -> {}: {}", r.recommendation.as_str(), r.why);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_name_each_leaf_by_its_path() {
        let value = serde_json::json!({"a": 1, "b": {"c": null, "d": "x\"y"}, "e": 0.5});
        assert_eq!(csv(&value), "metric,value\na,1\nb.c,\nb.d,\"x\"\"y\"\ne,0.5\n");
    }

    #[test]
    fn rates_print_as_percentages_and_missing_ones_as_a_dash() {
        assert_eq!(percent(Some(0.2)), "20.0 %");
        assert_eq!(percent(None), "-");
    }
}
