//! Reports for supervisors and the dashboard: the summary, its breakdowns
//! by intent, agent and time, and the journey audit. Every figure comes
//! from `baton_engine::reports` over the event log; agents' tokens only.

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use baton_core::Event;
use baton_engine::reports::{self, Bucket, Filter, FilterQuery};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports/summary", get(summary))
        .route("/api/v1/reports/intents", get(intents))
        .route("/api/v1/reports/agents", get(agents))
        .route("/api/v1/reports/timeseries", get(timeseries))
        .route("/api/v1/reports/audit", get(audit))
}

/// The filter, checked, and the events it needs.
async fn load(state: &AppState, query: &FilterQuery) -> Result<(Filter, Vec<Event>), ApiError> {
    let settings = &state.engine.workspace().settings;
    let filter = query.resolve_in(settings).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    // TODO: the whole period is read into memory on every request; a
    // deployment with years of history will want stored daily roll-ups.
    let events = state.store.events_between(filter.from, filter.to).await?;
    Ok((filter, events))
}

async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<FilterQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.agent()?;
    let (filter, events) = load(&state, &query).await?;
    let settings = &state.engine.workspace().settings;
    let pulses = state.store.pulses(filter.from, filter.to).await?;
    let scores: Vec<u8> = pulses.iter().map(|p| p.score).collect();
    let summary = reports::summary(&events, &filter, settings).with_pulse_scores(&scores);
    Ok(Json(json!(summary)))
}

async fn intents(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<FilterQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.agent()?;
    let (filter, events) = load(&state, &query).await?;
    let settings = &state.engine.workspace().settings;
    Ok(Json(json!({"intents": reports::intents(&events, &filter, settings)})))
}

async fn agents(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<FilterQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.agent()?;
    let (filter, events) = load(&state, &query).await?;
    let names: HashMap<_, _> =
        state.store.agents().await?.into_iter().map(|a| (a.id, a.name)).collect();
    let settings = &state.engine.workspace().settings;
    Ok(Json(json!({"agents": reports::agents(&events, &filter, settings, &names)})))
}

/// The filter's fields and the width of a bucket.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesQuery {
    bucket: Option<String>,
    from: Option<String>,
    to: Option<String>,
    queue: Option<String>,
    intent: Option<String>,
    channel: Option<String>,
    agent: Option<String>,
}

async fn timeseries(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<SeriesQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.agent()?;
    let bucket: Bucket = query
        .bucket
        .as_deref()
        .unwrap_or("day")
        .parse()
        .map_err(|e: reports::UnknownBucket| ApiError::BadRequest(e.to_string()))?;
    let filter = FilterQuery {
        from: query.from,
        to: query.to,
        queue: query.queue,
        intent: query.intent,
        channel: query.channel,
        agent: query.agent,
    };
    let (filter, events) = load(&state, &filter).await?;
    let settings = &state.engine.workspace().settings;
    let points = reports::timeseries(&events, &filter, settings, bucket);
    Ok(Json(json!({"bucket": bucket, "points": points})))
}

async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<FilterQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.agent()?;
    let (filter, events) = load(&state, &query).await?;
    let settings = &state.engine.workspace().settings;
    Ok(Json(json!({"intents": reports::audit::audit(&events, &filter, settings)})))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    #[test]
    fn the_openapi_document_lists_every_report_with_every_filter() {
        let doc: Value = serde_json::from_str(crate::routes::OPENAPI).unwrap();
        let filters = ["from", "to", "queue", "intent", "channel", "agent"];
        for report in ["summary", "intents", "agents", "timeseries", "audit"] {
            let path = format!("/api/v1/reports/{report}");
            let parameters = doc["paths"][&path]["get"]["parameters"].as_array().unwrap();
            let names: Vec<&str> = parameters
                .iter()
                .map(|p| match p["$ref"].as_str() {
                    Some(reference) => {
                        let name = reference.trim_start_matches("#/components/parameters/");
                        doc["components"]["parameters"][name]["name"].as_str().unwrap()
                    }
                    None => p["name"].as_str().unwrap(),
                })
                .collect();
            let expected: Vec<&str> = if report == "timeseries" {
                std::iter::once("bucket").chain(filters).collect()
            } else {
                filters.to_vec()
            };
            assert_eq!(names, expected, "{path}");
            let schema = &doc["paths"][&path]["get"]["responses"]["200"]["content"];
            assert!(schema["application/json"]["schema"].is_object(), "{path} has its answer");
        }

        // The summary's schema names every field the summary has.
        let summary = serde_json::to_value(baton_engine::reports::Summary::default()).unwrap();
        let mut fields: Vec<&String> = summary.as_object().unwrap().keys().collect();
        let schema = &doc["components"]["schemas"]["ReportSummary"]["properties"];
        let mut documented: Vec<&String> = schema.as_object().unwrap().keys().collect();
        fields.sort();
        documented.sort();
        assert_eq!(fields, documented);
    }
}
